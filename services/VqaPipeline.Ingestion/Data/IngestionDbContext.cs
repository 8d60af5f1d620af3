using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Messaging;

namespace VqaPipeline.Ingestion.Data;

/// <summary>The ingestion service's schema: collections, their images and the human labels on them.</summary>
public sealed class IngestionDbContext(DbContextOptions<IngestionDbContext> options) : MessagingDbContext(options)
{
    public override string Schema => Services.Ingestion;

    /// <summary>Image collections.</summary>
    public DbSet<Collection> Collections => Set<Collection>();

    /// <summary>Images of all collections.</summary>
    public DbSet<Image> Images => Set<Image>();

    /// <summary>Human answers to questions about images.</summary>
    public DbSet<ImageLabel> Labels => Set<ImageLabel>();

    /// <summary>Every change of every label, oldest first.</summary>
    public DbSet<LabelChange> LabelChanges => Set<LabelChange>();

    /// <summary>Bucket imports, running and ended.</summary>
    public DbSet<BucketImport> Imports => Set<BucketImport>();

    /// <summary>Objects of bucket imports that did not become images.</summary>
    public DbSet<SkippedObject> SkippedObjects => Set<SkippedObject>();

    /// <summary>A context on <paramref name="connectionString"/> (the ingestion role's, or any with rights on the schema).</summary>
    public static IngestionDbContext Open(string connectionString) =>
        new(OptionsFor<IngestionDbContext>(connectionString, Services.Ingestion));

    protected override void ConfigureTables(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Collection>(collection =>
        {
            collection.Property(c => c.Name).HasMaxLength(200);
            collection.HasIndex(c => new { c.TeamId, c.Name }).IsUnique();
            collection.HasIndex(c => new { c.TeamId, c.CreatedAt, c.Id });
        });

        modelBuilder.Entity<Image>(image =>
        {
            image.Property(i => i.Sha256).HasMaxLength(64).IsFixedLength();
            image.Property(i => i.ObjectKey).HasMaxLength(1024);
            image.Property(i => i.PreprocessedObjectKey).HasMaxLength(1024);
            image.Property(i => i.FileName).HasMaxLength(1024);
            image.Property(i => i.ContentType).HasMaxLength(255);
            image.Property(i => i.Format).HasMaxLength(32);
            image.Property(i => i.Status).HasMaxLength(16).HasConversion(LowerCaseEnum.Converter<ImageStatus>());
            image.HasIndex(i => new { i.CollectionId, i.Sha256 }).IsUnique();
            // The uploads-in-flight quota counts a team's pending images: a small index of those alone.
            image.HasIndex(i => i.CollectionId).HasFilter("status = 'pending'").HasDatabaseName("ix_images_pending_collection_id");
            image.HasIndex(i => new { i.CollectionId, i.CreatedAt, i.Id });
            image.HasOne(i => i.Collection).WithMany(c => c.Images).HasForeignKey(i => i.CollectionId);
        });

        modelBuilder.Entity<ImageLabel>(label =>
        {
            label.ToTable("labels");
            label.Property(l => l.Question).HasMaxLength(1000);
            label.HasIndex(l => new { l.ImageId, l.Question }).IsUnique();
            label.HasIndex(l => new { l.CollectionId, l.ImageId, l.Question });
            label.HasOne<Image>().WithMany().HasForeignKey(l => l.ImageId);
            label.HasOne<Collection>().WithMany().HasForeignKey(l => l.CollectionId);
        });

        modelBuilder.Entity<LabelChange>(change =>
        {
            change.ToTable("label_changes");
            change.Property(c => c.Id).UseIdentityAlwaysColumn();
            change.Property(c => c.Question).HasMaxLength(1000);
            change.Property(c => c.Kind).HasMaxLength(16).HasConversion(LowerCaseEnum.Converter<LabelChangeKind>());
            change.Property(c => c.KeyPrefix).HasMaxLength(32);
            change.Property(c => c.Role).HasMaxLength(32);
            change.HasIndex(c => new { c.CollectionId, c.LabelId, c.Id });
            change.HasOne<Collection>().WithMany().HasForeignKey(c => c.CollectionId);
        });

        modelBuilder.Entity<BucketImport>(import =>
        {
            import.ToTable("imports");
            import.Property(i => i.Bucket).HasMaxLength(63);
            import.Property(i => i.Prefix).HasMaxLength(1024);
            import.Property(i => i.LastKey).HasMaxLength(1024);
            import.Property(i => i.State).HasMaxLength(16).HasConversion(LowerCaseEnum.Converter<ImportState>());
            import.HasIndex(i => i.State);
            import.HasIndex(i => i.CollectionId);
            import.HasOne<Collection>().WithMany().HasForeignKey(i => i.CollectionId);
        });

        modelBuilder.Entity<SkippedObject>(skipped =>
        {
            skipped.ToTable("import_skipped_objects");
            skipped.HasKey(s => new { s.ImportId, s.Key });
            skipped.Property(s => s.Key).HasMaxLength(1024);
            skipped.HasOne<BucketImport>().WithMany().HasForeignKey(s => s.ImportId);
        });
    }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without a running database.</summary>
public sealed class IngestionDbContextDesignTimeFactory : IDesignTimeDbContextFactory<IngestionDbContext>
{
    public IngestionDbContext CreateDbContext(string[] args) => IngestionDbContext.Open("Host=localhost;Database=vqapipeline_design");
}
