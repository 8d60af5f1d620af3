using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VqaPipeline.Training.Data.Migrations
{
    /// <inheritdoc />
    public partial class TrainingRunClaimToken : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "claim_token",
                schema: "training",
                table: "training_runs",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "claim_token",
                schema: "training",
                table: "training_runs");
        }
    }
}
