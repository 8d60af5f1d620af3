using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VqaPipeline.Training.Data.Migrations
{
    /// <inheritdoc />
    public partial class QuotaIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "ix_training_runs_team_id_status",
                schema: "training",
                table: "training_runs",
                columns: new[] { "team_id", "status" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_training_runs_team_id_status",
                schema: "training",
                table: "training_runs");
        }
    }
}
