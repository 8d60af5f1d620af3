using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VqaPipeline.Inference.Data.Migrations
{
    /// <inheritdoc />
    public partial class TeamScope : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<Guid>(
                name: "team_id",
                schema: "inference",
                table: "question_jobs",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));

            migrationBuilder.AddColumn<Guid>(
                name: "team_id",
                schema: "inference",
                table: "images",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));

            migrationBuilder.CreateIndex(
                name: "ix_question_jobs_team_id_created_at",
                schema: "inference",
                table: "question_jobs",
                columns: new[] { "team_id", "created_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_question_jobs_team_id_created_at",
                schema: "inference",
                table: "question_jobs");

            migrationBuilder.DropColumn(
                name: "team_id",
                schema: "inference",
                table: "question_jobs");

            migrationBuilder.DropColumn(
                name: "team_id",
                schema: "inference",
                table: "images");
        }
    }
}
