using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VqaPipeline.Indexing.Data.Migrations
{
    /// <inheritdoc />
    public partial class TeamScope : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<Guid>(
                name: "team_id",
                schema: "indexing",
                table: "search_jobs",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));

            migrationBuilder.AddColumn<Guid>(
                name: "team_id",
                schema: "indexing",
                table: "indexed_answers",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "team_id",
                schema: "indexing",
                table: "search_jobs");

            migrationBuilder.DropColumn(
                name: "team_id",
                schema: "indexing",
                table: "indexed_answers");
        }
    }
}
