using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VqaPipeline.Ingestion.Data.Migrations
{
    /// <inheritdoc />
    public partial class TeamScope : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_collections_name",
                schema: "ingestion",
                table: "collections");

            migrationBuilder.AddColumn<Guid>(
                name: "team_id",
                schema: "ingestion",
                table: "imports",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));

            migrationBuilder.AddColumn<Guid>(
                name: "team_id",
                schema: "ingestion",
                table: "collections",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));

            migrationBuilder.CreateIndex(
                name: "ix_collections_team_id_name",
                schema: "ingestion",
                table: "collections",
                columns: new[] { "team_id", "name" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_collections_team_id_name",
                schema: "ingestion",
                table: "collections");

            migrationBuilder.DropColumn(
                name: "team_id",
                schema: "ingestion",
                table: "imports");

            migrationBuilder.DropColumn(
                name: "team_id",
                schema: "ingestion",
                table: "collections");

            migrationBuilder.CreateIndex(
                name: "ix_collections_name",
                schema: "ingestion",
                table: "collections",
                column: "name",
                unique: true);
        }
    }
}
