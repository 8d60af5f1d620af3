using System;
using Microsoft.EntityFrameworkCore.Migrations;
using VqaPipeline.Messaging;
using VqaPipeline.Data;
using VqaPipeline.Contracts.V1;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace VqaPipeline.Indexing.Data.Migrations
{
    /// <inheritdoc />
    public partial class IndexingSchema : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.EnsureSchema(
                name: "indexing");

            migrationBuilder.CreateTable(
                name: "ended_jobs",
                schema: "indexing",
                columns: table => new
                {
                    job_id = table.Column<Guid>(type: "uuid", nullable: false),
                    collection_id = table.Column<Guid>(type: "uuid", nullable: false),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    model_version = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: false),
                    answered = table.Column<int>(type: "integer", nullable: false),
                    failure_reason = table.Column<string>(type: "text", nullable: true),
                    ended_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_ended_jobs", x => x.job_id);
                });

            migrationBuilder.CreateTable(
                name: "event_log",
                schema: "indexing",
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
                schema: "indexing",
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
                name: "indexed_answers",
                schema: "indexing",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    collection_id = table.Column<Guid>(type: "uuid", nullable: false),
                    image_id = table.Column<Guid>(type: "uuid", nullable: false),
                    file_name = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    object_key = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
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
                schema: "indexing",
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
                schema: "indexing",
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
                name: "ix_event_log_message_id",
                schema: "indexing",
                table: "event_log",
                column: "message_id");

            migrationBuilder.CreateIndex(
                name: "ix_event_log_message_type_occurred_at",
                schema: "indexing",
                table: "event_log",
                columns: new[] { "message_type", "occurred_at" });

            migrationBuilder.CreateIndex(
                name: "ix_event_log_outbox",
                schema: "indexing",
                table: "event_log",
                column: "id",
                filter: "direction = 'published' AND dispatched_at IS NULL");

            migrationBuilder.CreateIndex(
                name: "ix_indexed_answers_image_id_question_model_version_rank",
                schema: "indexing",
                table: "indexed_answers",
                columns: new[] { "image_id", "question", "model_version", "rank" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_indexed_answers_search",
                schema: "indexing",
                table: "indexed_answers",
                columns: new[] { "question", "normalized_answer", "collection_id", "model_version", "score" },
                descending: new[] { false, false, false, false, true });

            // A database of the layout before each service owned its schema: bring this service's rows over.
            migrationBuilder.Sql(LegacyLayout.Import("indexed_answers",
                """
                INSERT INTO indexing.indexed_answers (collection_id, image_id, file_name, object_key, question, question_asked,
                                                      answer, normalized_answer, rank, score, model_version, job_id, produced_at)
                SELECT a.collection_id, a.image_id, i.file_name, i.object_key, a.question, a.question_asked, a.answer,
                       a.normalized_answer, a.rank, a.score, a.model_version, a.job_id, a.produced_at
                FROM public.indexed_answers a LEFT JOIN public.images i ON i.id = a.image_id
                ORDER BY a.id
                """));
            migrationBuilder.Sql(LegacyLayout.Import("indexed_questions",
                """
                INSERT INTO indexing.indexed_questions (collection_id, question, model_version, question_asked, last_produced_at)
                SELECT collection_id, question, model_version, question_asked, last_produced_at FROM public.indexed_questions
                """));
            migrationBuilder.Sql(LegacyLayout.Import("search_jobs",
                """
                INSERT INTO indexing.search_jobs (collection_id, question, model, job_id, status_url, requested_at)
                SELECT collection_id, question, model, job_id, status_url, requested_at FROM public.search_jobs
                """));
            // Whether a search's job has ended was read from the jobs' own tables; now it is what QuestionJobEnded said.
            migrationBuilder.Sql(LegacyLayout.Import("question_jobs",
                """
                INSERT INTO indexing.ended_jobs (job_id, collection_id, status, model_version, answered, failure_reason, ended_at)
                SELECT j.id, j.collection_id, j.status, coalesce(j.model_version, j.model),
                       (SELECT count(*) FROM public.job_images i WHERE i.job_id = j.id AND i.state = 'answered'),
                       j.failure_reason, coalesce(j.finished_at, j.updated_at)
                FROM public.question_jobs j WHERE j.status IN ('completed', 'failed', 'cancelled')
                """));
            migrationBuilder.Sql(LegacyMessages.Import(Services.Indexing, consumedTypes: [nameof(AnswersProduced)],
                inboxConsumers: new Dictionary<string, string>()));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ended_jobs",
                schema: "indexing");

            migrationBuilder.DropTable(
                name: "event_log",
                schema: "indexing");

            migrationBuilder.DropTable(
                name: "inbox_messages",
                schema: "indexing");

            migrationBuilder.DropTable(
                name: "indexed_answers",
                schema: "indexing");

            migrationBuilder.DropTable(
                name: "indexed_questions",
                schema: "indexing");

            migrationBuilder.DropTable(
                name: "search_jobs",
                schema: "indexing");
        }
    }
}
