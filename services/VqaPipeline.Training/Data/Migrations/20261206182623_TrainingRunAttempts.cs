using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VqaPipeline.Training.Data.Migrations
{
    /// <inheritdoc />
    public partial class TrainingRunAttempts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "attempts",
                schema: "training",
                table: "training_runs",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<long>(
                name: "claim_token",
                schema: "training",
                table: "training_runs",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<int>(
                name: "reserved_version",
                schema: "training",
                table: "training_runs",
                type: "integer",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "attempts",
                schema: "training",
                table: "training_runs");

            migrationBuilder.DropColumn(
                name: "claim_token",
                schema: "training",
                table: "training_runs");

            migrationBuilder.DropColumn(
                name: "reserved_version",
                schema: "training",
                table: "training_runs");
        }
    }
}
