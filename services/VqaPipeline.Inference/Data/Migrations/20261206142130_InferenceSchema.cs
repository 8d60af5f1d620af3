using System;
using System.Collections.Generic;
using Microsoft.EntityFrameworkCore.Migrations;
using VqaPipeline.Messaging;
using VqaPipeline.Data;
using VqaPipeline.Contracts.V1;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace VqaPipeline.Inference.Data.Migrations
{
    /// <inheritdoc />
    public partial class InferenceSchema : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.EnsureSchema(
                name: "inference");

            migrationBuilder.CreateTable(
                name: "event_log",
                schema: "inference",
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
                schema: "inference",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    collection_id = table.Column<Guid>(type: "uuid", nullable: false),
                    file_name = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: false),
                    object_key = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    preprocessed_object_key = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    rejection_reason = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_images", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "inbox_messages",
                schema: "inference",
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
                name: "question_jobs",
                schema: "inference",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    collection_id = table.Column<Guid>(type: "uuid", nullable: false),
                    questions = table.Column<List<string>>(type: "text[]", nullable: false),
                    model = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: false),
                    model_version = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    top_k = table.Column<int>(type: "integer", nullable: false),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    total = table.Column<int>(type: "integer", nullable: false),
                    expected_images = table.Column<int>(type: "integer", nullable: false),
                    done = table.Column<int>(type: "integer", nullable: false),
                    failed = table.Column<int>(type: "integer", nullable: false),
                    failure_reason = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_question_jobs", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "job_answers",
                schema: "inference",
                columns: table => new
                {
                    job_id = table.Column<Guid>(type: "uuid", nullable: false),
                    image_id = table.Column<Guid>(type: "uuid", nullable: false),
                    question_index = table.Column<int>(type: "integer", nullable: false),
                    rank = table.Column<int>(type: "integer", nullable: false),
                    question = table.Column<string>(type: "text", nullable: false),
                    answer = table.Column<string>(type: "text", nullable: false),
                    score = table.Column<double>(type: "double precision", nullable: false),
                    model_version = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_job_answers", x => new { x.job_id, x.image_id, x.question_index, x.rank });
                    table.ForeignKey(
                        name: "fk_job_answers_question_jobs_job_id",
                        column: x => x.job_id,
                        principalSchema: "inference",
                        principalTable: "question_jobs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "job_images",
                schema: "inference",
                columns: table => new
                {
                    job_id = table.Column<Guid>(type: "uuid", nullable: false),
                    image_id = table.Column<Guid>(type: "uuid", nullable: false),
                    state = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    reason = table.Column<string>(type: "text", nullable: true),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_job_images", x => new { x.job_id, x.image_id });
                    table.ForeignKey(
                        name: "fk_job_images_question_jobs_job_id",
                        column: x => x.job_id,
                        principalSchema: "inference",
                        principalTable: "question_jobs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_event_log_message_id",
                schema: "inference",
                table: "event_log",
                column: "message_id");

            migrationBuilder.CreateIndex(
                name: "ix_event_log_message_type_occurred_at",
                schema: "inference",
                table: "event_log",
                columns: new[] { "message_type", "occurred_at" });

            migrationBuilder.CreateIndex(
                name: "ix_event_log_outbox",
                schema: "inference",
                table: "event_log",
                column: "id",
                filter: "direction = 'published' AND dispatched_at IS NULL");

            migrationBuilder.CreateIndex(
                name: "ix_images_collection_id_created_at",
                schema: "inference",
                table: "images",
                columns: new[] { "collection_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_job_images_job_id_state",
                schema: "inference",
                table: "job_images",
                columns: new[] { "job_id", "state" });

            migrationBuilder.CreateIndex(
                name: "ix_question_jobs_collection_id_status",
                schema: "inference",
                table: "question_jobs",
                columns: new[] { "collection_id", "status" });

            // A database of the layout before each service owned its schema: bring this service's rows over.
            migrationBuilder.Sql(LegacyLayout.Import("images",
                """
                INSERT INTO inference.images (id, collection_id, file_name, object_key, status, preprocessed_object_key,
                                              rejection_reason, created_at)
                SELECT id, collection_id, file_name, object_key, status, preprocessed_object_key, rejection_reason, created_at
                FROM public.images
                """));
            migrationBuilder.Sql(LegacyLayout.Import("question_jobs",
                """
                INSERT INTO inference.question_jobs (id, collection_id, questions, model, model_version, top_k, status, total,
                                                     expected_images, done, failed, failure_reason, created_at, started_at,
                                                     finished_at, updated_at)
                SELECT id, collection_id, questions, model, model_version, top_k, status, total, total, done, failed,
                       failure_reason, created_at, started_at, finished_at, updated_at
                FROM public.question_jobs
                """));
            migrationBuilder.Sql(LegacyLayout.Import("job_images",
                """
                INSERT INTO inference.job_images (job_id, image_id, state, reason, updated_at)
                SELECT job_id, image_id, state, reason, updated_at FROM public.job_images
                """));
            migrationBuilder.Sql(LegacyLayout.Import("job_answers",
                """
                INSERT INTO inference.job_answers (job_id, image_id, question_index, rank, question, answer, score, model_version,
                                                   created_at)
                SELECT job_id, image_id, question_index, rank, question, answer, score, model_version, created_at
                FROM public.job_answers
                """));
            migrationBuilder.Sql(LegacyMessages.Import(Services.Inference,
                consumedTypes: [nameof(ImagePreprocessed), nameof(ImageRejected), nameof(QuestionJobSubmitted), nameof(ImageBatchRequested)],
                inboxConsumers: new Dictionary<string, string>
                {
                    ["inference.ImageOutcomeConsumer"] = "inference-image-outcomes",
                    ["inference.QuestionJobSubmittedConsumer"] = "inference-question-jobs",
                    ["inference.ImageBatchConsumer"] = "inference-image-batches",
                }));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "event_log",
                schema: "inference");

            migrationBuilder.DropTable(
                name: "images",
                schema: "inference");

            migrationBuilder.DropTable(
                name: "inbox_messages",
                schema: "inference");

            migrationBuilder.DropTable(
                name: "job_answers",
                schema: "inference");

            migrationBuilder.DropTable(
                name: "job_images",
                schema: "inference");

            migrationBuilder.DropTable(
                name: "question_jobs",
                schema: "inference");
        }
    }
}
