using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VqaPipeline.Inference.Data.Migrations
{
    /// <inheritdoc />
    public partial class OutboxAttempts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_event_log_outbox",
                schema: "inference",
                table: "event_log");

            migrationBuilder.AddColumn<string>(
                name: "last_error",
                schema: "inference",
                table: "event_log",
                type: "character varying(2000)",
                maxLength: 2000,
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "parked_at",
                schema: "inference",
                table: "event_log",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "publish_attempts",
                schema: "inference",
                table: "event_log",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.CreateIndex(
                name: "ix_event_log_outbox",
                schema: "inference",
                table: "event_log",
                column: "id",
                filter: "direction = 'published' AND dispatched_at IS NULL AND parked_at IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_event_log_outbox",
                schema: "inference",
                table: "event_log");

            migrationBuilder.DropColumn(
                name: "last_error",
                schema: "inference",
                table: "event_log");

            migrationBuilder.DropColumn(
                name: "parked_at",
                schema: "inference",
                table: "event_log");

            migrationBuilder.DropColumn(
                name: "publish_attempts",
                schema: "inference",
                table: "event_log");

            migrationBuilder.CreateIndex(
                name: "ix_event_log_outbox",
                schema: "inference",
                table: "event_log",
                column: "id",
                filter: "direction = 'published' AND dispatched_at IS NULL");
        }
    }
}
