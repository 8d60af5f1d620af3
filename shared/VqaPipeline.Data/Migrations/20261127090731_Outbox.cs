using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VqaPipeline.Data.Migrations
{
    /// <inheritdoc />
    public partial class Outbox : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // The defaults stay in the database though the model has none (EF always writes both columns): rows
            // written by code that predates the outbox, which published after its own commit, count as already sent.
            migrationBuilder.AddColumn<string>(
                name: "direction",
                table: "event_log",
                type: "character varying(16)",
                maxLength: 16,
                nullable: false,
                defaultValue: "published");

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "dispatched_at",
                table: "event_log",
                type: "timestamp with time zone",
                nullable: true,
                defaultValueSql: "now()");

            // Existing rows: a consumer logged a message under the id of an earlier row (its publisher's), or, when
            // it is the only row of that id, under an id its inbox holds. The rest were published, and were sent.
            migrationBuilder.Sql(
                """
                UPDATE event_log e SET direction = 'consumed', dispatched_at = NULL
                WHERE EXISTS (SELECT 1 FROM event_log p WHERE p.message_id = e.message_id AND p.id < e.id)
                   OR (EXISTS (SELECT 1 FROM inbox_messages i WHERE i.message_id = e.message_id)
                       AND NOT EXISTS (SELECT 1 FROM event_log o WHERE o.message_id = e.message_id AND o.id <> e.id));
                UPDATE event_log SET dispatched_at = occurred_at WHERE direction = 'published';
                """);

            migrationBuilder.CreateIndex(
                name: "ix_event_log_outbox",
                table: "event_log",
                column: "id",
                filter: "direction = 'published' AND dispatched_at IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_event_log_outbox",
                table: "event_log");

            migrationBuilder.DropColumn(
                name: "direction",
                table: "event_log");

            migrationBuilder.DropColumn(
                name: "dispatched_at",
                table: "event_log");
        }
    }
}
