using System;
using System.Collections.Generic;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Messaging;

#nullable disable

namespace VqaPipeline.Ingestion.Data.Migrations
{
    /// <inheritdoc />
    public partial class IngestionSchema : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.EnsureSchema(
                name: "ingestion");

            migrationBuilder.CreateTable(
                name: "collections",
                schema: "ingestion",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_collections", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "event_log",
                schema: "ingestion",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    message_id = table.Column<Guid>(type: "uuid", nullable: false),
                    message_type = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    body = table.Column<string>(type: "jsonb", nullable: false),
                    collection_id = table.Column<Guid>(type: "uuid", nullable: true),
                    image_id = table.Column<Guid>(type: "uuid", nullable: true),
                    job_id = table.Column<Guid>(type: "uuid", nullable: true),
                    occurred_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    direction = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    dispatched_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    destination = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: true),
                    trace_parent = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_event_log", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "inbox_messages",
                schema: "ingestion",
                columns: table => new
                {
                    consumer = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    message_id = table.Column<Guid>(type: "uuid", nullable: false),
                    processed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_inbox_messages", x => new { x.consumer, x.message_id });
                });

            migrationBuilder.CreateTable(
                name: "images",
                schema: "ingestion",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    collection_id = table.Column<Guid>(type: "uuid", nullable: false),
                    sha256 = table.Column<string>(type: "character(64)", fixedLength: true, maxLength: 64, nullable: false),
                    object_key = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: false),
                    file_name = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: false),
                    content_type = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    size_bytes = table.Column<long>(type: "bigint", nullable: false),
                    format = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    width = table.Column<int>(type: "integer", nullable: true),
                    height = table.Column<int>(type: "integer", nullable: true),
                    preprocessed_object_key = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    rejection_reason = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_images", x => x.id);
                    table.ForeignKey(
                        name: "fk_images_collections_collection_id",
                        column: x => x.collection_id,
                        principalSchema: "ingestion",
                        principalTable: "collections",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "labels",
                schema: "ingestion",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    collection_id = table.Column<Guid>(type: "uuid", nullable: false),
                    image_id = table.Column<Guid>(type: "uuid", nullable: false),
                    question = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: false),
                    answers = table.Column<List<string>>(type: "text[]", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_labels", x => x.id);
                    table.ForeignKey(
                        name: "fk_labels_collections_collection_id",
                        column: x => x.collection_id,
                        principalSchema: "ingestion",
                        principalTable: "collections",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "fk_labels_images_image_id",
                        column: x => x.image_id,
                        principalSchema: "ingestion",
                        principalTable: "images",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_collections_name",
                schema: "ingestion",
                table: "collections",
                column: "name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_event_log_message_id",
                schema: "ingestion",
                table: "event_log",
                column: "message_id");

            migrationBuilder.CreateIndex(
                name: "ix_event_log_message_type_occurred_at",
                schema: "ingestion",
                table: "event_log",
                columns: new[] { "message_type", "occurred_at" });

            migrationBuilder.CreateIndex(
                name: "ix_event_log_outbox",
                schema: "ingestion",
                table: "event_log",
                column: "id",
                filter: "direction = 'published' AND dispatched_at IS NULL");

            migrationBuilder.CreateIndex(
                name: "ix_images_collection_id_sha256",
                schema: "ingestion",
                table: "images",
                columns: new[] { "collection_id", "sha256" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_labels_collection_id",
                schema: "ingestion",
                table: "labels",
                column: "collection_id");

            migrationBuilder.CreateIndex(
                name: "ix_labels_image_id_question",
                schema: "ingestion",
                table: "labels",
                columns: new[] { "image_id", "question" },
                unique: true);

            // A database of the layout before each service owned its schema: bring this service's rows over.
            migrationBuilder.Sql(LegacyLayout.Import("collections",
                "INSERT INTO ingestion.collections (id, name, created_at) SELECT id, name, created_at FROM public.collections"));
            migrationBuilder.Sql(LegacyLayout.Import("images",
                """
                INSERT INTO ingestion.images (id, collection_id, sha256, object_key, file_name, content_type, size_bytes, format,
                                              width, height, preprocessed_object_key, status, rejection_reason, created_at, updated_at)
                SELECT id, collection_id, sha256, object_key, file_name, content_type, size_bytes, format, width, height,
                       preprocessed_object_key, status, rejection_reason, created_at, updated_at
                FROM public.images
                """));
            migrationBuilder.Sql(LegacyLayout.Import("labels",
                """
                INSERT INTO ingestion.labels (id, collection_id, image_id, question, answers, updated_at)
                SELECT id, collection_id, image_id, question, answers, updated_at FROM public.labels
                """));
            migrationBuilder.Sql(LegacyMessages.Import(Services.Ingestion, consumedTypes: [], inboxConsumers: new Dictionary<string, string>()));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "event_log",
                schema: "ingestion");

            migrationBuilder.DropTable(
                name: "inbox_messages",
                schema: "ingestion");

            migrationBuilder.DropTable(
                name: "labels",
                schema: "ingestion");

            migrationBuilder.DropTable(
                name: "images",
                schema: "ingestion");

            migrationBuilder.DropTable(
                name: "collections",
                schema: "ingestion");
        }
    }
}
