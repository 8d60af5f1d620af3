using System;
using Microsoft.EntityFrameworkCore.Migrations;
using VqaPipeline.Messaging;
using VqaPipeline.Data;
using VqaPipeline.Contracts.V1;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace VqaPipeline.Training.Data.Migrations
{
    /// <inheritdoc />
    public partial class TrainingSchema : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.EnsureSchema(
                name: "training");

            migrationBuilder.CreateTable(
                name: "event_log",
                schema: "training",
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
                schema: "training",
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
                name: "model_versions",
                schema: "training",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    version = table.Column<int>(type: "integer", nullable: false),
                    object_prefix = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: false),
                    training_run_id = table.Column<Guid>(type: "uuid", nullable: true),
                    training_examples = table.Column<int>(type: "integer", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_model_versions", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "training_runs",
                schema: "training",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    model_name = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    request = table.Column<string>(type: "jsonb", nullable: false),
                    dataset_prefix = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    step = table.Column<int>(type: "integer", nullable: false),
                    total_steps = table.Column<int>(type: "integer", nullable: false),
                    loss = table.Column<double>(type: "double precision", nullable: true),
                    examples_per_second = table.Column<double>(type: "double precision", nullable: true),
                    worker = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: true),
                    heartbeat_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    model_reference = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: true),
                    error = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_training_runs", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_event_log_message_id",
                schema: "training",
                table: "event_log",
                column: "message_id");

            migrationBuilder.CreateIndex(
                name: "ix_event_log_message_type_occurred_at",
                schema: "training",
                table: "event_log",
                columns: new[] { "message_type", "occurred_at" });

            migrationBuilder.CreateIndex(
                name: "ix_event_log_outbox",
                schema: "training",
                table: "event_log",
                column: "id",
                filter: "direction = 'published' AND dispatched_at IS NULL");

            migrationBuilder.CreateIndex(
                name: "ix_model_versions_name_version",
                schema: "training",
                table: "model_versions",
                columns: new[] { "name", "version" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_model_versions_training_run_id",
                schema: "training",
                table: "model_versions",
                column: "training_run_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_training_runs_status",
                schema: "training",
                table: "training_runs",
                column: "status");

            // A database of the layout before each service owned its schema: bring this service's rows over.
            migrationBuilder.Sql(LegacyLayout.Import("training_runs",
                """
                INSERT INTO training.training_runs (id, model_name, request, dataset_prefix, status, step, total_steps, loss,
                                                    examples_per_second, worker, heartbeat_at, model_reference, error,
                                                    created_at, updated_at)
                SELECT id, model_name, request, request #>> '{dataset,objectPrefix}',
                       -- A run over a collection needs its dataset first (requested again below), whoever ran it before.
                       CASE WHEN status = 'running' AND request #>> '{dataset,objectPrefix}' IS NULL THEN 'queued' ELSE status END,
                       step, total_steps, loss, examples_per_second, worker, heartbeat_at, model_reference, error, created_at,
                       updated_at
                FROM public.training_runs
                """));
            migrationBuilder.Sql(LegacyLayout.Import("model_versions",
                """
                INSERT INTO training.model_versions (id, name, version, object_prefix, training_run_id, training_examples, created_at)
                SELECT id, name, version, object_prefix, training_run_id, training_examples, created_at FROM public.model_versions
                """));
            migrationBuilder.Sql(LegacyMessages.Import(Services.Training, consumedTypes: [nameof(TrainingRequested)],
                inboxConsumers: new Dictionary<string, string> { ["training.TrainingRequestedConsumer"] = "training-requested" }));
            // A run over a collection's labels read them itself before; now the ingestion service writes them as a dataset
            // when a run is requested. Runs not over yet are requested again, through the outbox, so that they get theirs.
            migrationBuilder.Sql(LegacyMessages.Publish(Services.Training, nameof(TrainingRequested), "training_runs",
                body: "request", collectionId: "(request #>> '{dataset,collectionId}')::uuid",
                where: "status IN ('queued', 'running') AND request #>> '{dataset,collectionId}' IS NOT NULL"));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "event_log",
                schema: "training");

            migrationBuilder.DropTable(
                name: "inbox_messages",
                schema: "training");

            migrationBuilder.DropTable(
                name: "model_versions",
                schema: "training");

            migrationBuilder.DropTable(
                name: "training_runs",
                schema: "training");
        }
    }
}
