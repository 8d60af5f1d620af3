using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace VqaPipeline.Data.Migrations
{
    /// <inheritdoc />
    public partial class RetrievalIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "indexed_answers",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    collection_id = table.Column<Guid>(type: "uuid", nullable: false),
                    image_id = table.Column<Guid>(type: "uuid", nullable: false),
                    question = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: false),
                    question_asked = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: false),
                    answer = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    normalized_answer = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    rank = table.Column<int>(type: "integer", nullable: false),
                    score = table.Column<double>(type: "double precision", nullable: false),
                    model_version = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: false),
                    job_id = table.Column<Guid>(type: "uuid", nullable: false),
                    produced_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_indexed_answers", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "indexed_questions",
                columns: table => new
                {
                    collection_id = table.Column<Guid>(type: "uuid", nullable: false),
                    question = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: false),
                    model_version = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: false),
                    question_asked = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: false),
                    last_produced_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_indexed_questions", x => new { x.collection_id, x.question, x.model_version });
                });

            migrationBuilder.CreateTable(
                name: "search_jobs",
                columns: table => new
                {
                    collection_id = table.Column<Guid>(type: "uuid", nullable: false),
                    question = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: false),
                    model = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: false),
                    job_id = table.Column<Guid>(type: "uuid", nullable: false),
                    status_url = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: false),
                    requested_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_search_jobs", x => new { x.collection_id, x.question, x.model });
                });

            migrationBuilder.CreateIndex(
                name: "ix_indexed_answers_image_id_question_model_version_rank",
                table: "indexed_answers",
                columns: new[] { "image_id", "question", "model_version", "rank" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_indexed_answers_search",
                table: "indexed_answers",
                columns: new[] { "question", "normalized_answer", "collection_id", "model_version", "score" },
                descending: new[] { false, false, false, false, true });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "indexed_answers");

            migrationBuilder.DropTable(
                name: "indexed_questions");

            migrationBuilder.DropTable(
                name: "search_jobs");
        }
    }
}
