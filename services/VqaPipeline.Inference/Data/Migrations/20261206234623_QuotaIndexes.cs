using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VqaPipeline.Inference.Data.Migrations
{
    /// <inheritdoc />
    public partial class QuotaIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "ix_question_jobs_team_id_status",
                schema: "inference",
                table: "question_jobs",
                columns: new[] { "team_id", "status" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_question_jobs_team_id_status",
                schema: "inference",
                table: "question_jobs");
        }
    }
}
