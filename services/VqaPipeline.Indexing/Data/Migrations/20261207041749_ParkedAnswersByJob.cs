using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VqaPipeline.Indexing.Data.Migrations
{
    /// <inheritdoc />
    public partial class ParkedAnswersByJob : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "ix_event_log_parked_job_id",
                schema: "indexing",
                table: "event_log",
                column: "job_id",
                filter: "parked_at IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_event_log_parked_job_id",
                schema: "indexing",
                table: "event_log");
        }
    }
}
