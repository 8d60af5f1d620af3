using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VqaPipeline.Training.Data.Migrations
{
    /// <summary>Model version numbers are counted per team: each team's name has its own 1, 2, ….</summary>
    public partial class ModelVersionsPerTeam : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_model_versions_name_version",
                schema: "training",
                table: "model_versions");

            migrationBuilder.CreateIndex(
                name: "ix_model_versions_team_id_name_version",
                schema: "training",
                table: "model_versions",
                columns: new[] { "team_id", "name", "version" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_model_versions_team_id_name_version",
                schema: "training",
                table: "model_versions");

            migrationBuilder.CreateIndex(
                name: "ix_model_versions_name_version",
                schema: "training",
                table: "model_versions",
                columns: new[] { "name", "version" },
                unique: true);
        }
    }
}
