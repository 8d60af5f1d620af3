using System;
using System.Collections.Generic;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace VqaPipeline.Ingestion.Data.Migrations
{
    /// <inheritdoc />
    public partial class LabelHistory : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_labels_collection_id",
                schema: "ingestion",
                table: "labels");

            migrationBuilder.CreateTable(
                name: "label_changes",
                schema: "ingestion",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                    label_id = table.Column<Guid>(type: "uuid", nullable: false),
                    collection_id = table.Column<Guid>(type: "uuid", nullable: false),
                    image_id = table.Column<Guid>(type: "uuid", nullable: false),
                    question = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: false),
                    kind = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    before = table.Column<List<string>>(type: "text[]", nullable: true),
                    after = table.Column<List<string>>(type: "text[]", nullable: true),
                    changed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    team_id = table.Column<Guid>(type: "uuid", nullable: false),
                    team = table.Column<string>(type: "text", nullable: false),
                    key_prefix = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    role = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_label_changes", x => x.id);
                    table.ForeignKey(
                        name: "fk_label_changes_collections_collection_id",
                        column: x => x.collection_id,
                        principalSchema: "ingestion",
                        principalTable: "collections",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_labels_collection_id_image_id_question",
                schema: "ingestion",
                table: "labels",
                columns: new[] { "collection_id", "image_id", "question" });

            migrationBuilder.CreateIndex(
                name: "ix_images_collection_id_created_at_id",
                schema: "ingestion",
                table: "images",
                columns: new[] { "collection_id", "created_at", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_collections_team_id_created_at_id",
                schema: "ingestion",
                table: "collections",
                columns: new[] { "team_id", "created_at", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_label_changes_collection_id_label_id_id",
                schema: "ingestion",
                table: "label_changes",
                columns: new[] { "collection_id", "label_id", "id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "label_changes",
                schema: "ingestion");

            migrationBuilder.DropIndex(
                name: "ix_labels_collection_id_image_id_question",
                schema: "ingestion",
                table: "labels");

            migrationBuilder.DropIndex(
                name: "ix_images_collection_id_created_at_id",
                schema: "ingestion",
                table: "images");

            migrationBuilder.DropIndex(
                name: "ix_collections_team_id_created_at_id",
                schema: "ingestion",
                table: "collections");

            migrationBuilder.CreateIndex(
                name: "ix_labels_collection_id",
                schema: "ingestion",
                table: "labels",
                column: "collection_id");
        }
    }
}
