using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VqaPipeline.Training.Data.Migrations
{
    /// <inheritdoc />
    public partial class TeamScope : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<Guid>(
                name: "team_id",
                schema: "training",
                table: "training_runs",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));

            migrationBuilder.AddColumn<Guid>(
                name: "team_id",
                schema: "training",
                table: "model_versions",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "team_id",
                schema: "training",
                table: "training_runs");

            migrationBuilder.DropColumn(
                name: "team_id",
                schema: "training",
                table: "model_versions");
        }
    }
}
