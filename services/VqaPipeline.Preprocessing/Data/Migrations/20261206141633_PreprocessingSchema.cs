using System;
using Microsoft.EntityFrameworkCore.Migrations;
using VqaPipeline.Messaging;
using VqaPipeline.Data;
using VqaPipeline.Contracts.V1;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace VqaPipeline.Preprocessing.Data.Migrations
{
    /// <inheritdoc />
    public partial class PreprocessingSchema : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.EnsureSchema(
                name: "preprocessing");

            migrationBuilder.CreateTable(
                name: "event_log",
                schema: "preprocessing",
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
                name: "images",
                schema: "preprocessing",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    collection_id = table.Column<Guid>(type: "uuid", nullable: false),
                    file_name = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: false),
                    object_key = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: false),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    format = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    width = table.Column<int>(type: "integer", nullable: true),
                    height = table.Column<int>(type: "integer", nullable: true),
                    preprocessed_object_key = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    rejection_reason = table.Column<string>(type: "text", nullable: true),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_images", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "inbox_messages",
                schema: "preprocessing",
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

            migrationBuilder.CreateIndex(
                name: "ix_event_log_message_id",
                schema: "preprocessing",
                table: "event_log",
                column: "message_id");

            migrationBuilder.CreateIndex(
                name: "ix_event_log_message_type_occurred_at",
                schema: "preprocessing",
                table: "event_log",
                columns: new[] { "message_type", "occurred_at" });

            migrationBuilder.CreateIndex(
                name: "ix_event_log_outbox",
                schema: "preprocessing",
                table: "event_log",
                column: "id",
                filter: "direction = 'published' AND dispatched_at IS NULL");

            migrationBuilder.CreateIndex(
                name: "ix_images_collection_id",
                schema: "preprocessing",
                table: "images",
                column: "collection_id");

            // A database of the layout before each service owned its schema: bring this service's rows over.
            migrationBuilder.Sql(LegacyLayout.Import("images",
                """
                INSERT INTO preprocessing.images (id, collection_id, file_name, object_key, status, format, width, height,
                                                  preprocessed_object_key, rejection_reason, updated_at)
                SELECT id, collection_id, file_name, object_key, status, format, width, height, preprocessed_object_key,
                       rejection_reason, updated_at
                FROM public.images WHERE status IN ('ready', 'rejected')
                """));
            migrationBuilder.Sql(LegacyMessages.Import(Services.Preprocessing, consumedTypes: [nameof(ImageIngested)],
                inboxConsumers: new Dictionary<string, string> { ["preprocessing.ImageIngestedConsumer"] = "preprocessing-image-ingested" }));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "event_log",
                schema: "preprocessing");

            migrationBuilder.DropTable(
                name: "images",
                schema: "preprocessing");

            migrationBuilder.DropTable(
                name: "inbox_messages",
                schema: "preprocessing");
        }
    }
}
