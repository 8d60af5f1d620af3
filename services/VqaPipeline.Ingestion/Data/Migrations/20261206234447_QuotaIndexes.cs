using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VqaPipeline.Ingestion.Data.Migrations
{
    /// <inheritdoc />
    public partial class QuotaIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "ix_images_pending_collection_id",
                schema: "ingestion",
                table: "images",
                column: "collection_id",
                filter: "status = 'pending'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_images_pending_collection_id",
                schema: "ingestion",
                table: "images");
        }
    }
}
