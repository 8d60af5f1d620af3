using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Messaging;

namespace VqaPipeline.Preprocessing.Data;

/// <summary>The preprocessing service's schema: what it made of each image it was given.</summary>
public sealed class PreprocessingDbContext(DbContextOptions<PreprocessingDbContext> options) : MessagingDbContext(options)
{
    public override string Schema => Services.Preprocessing;

    /// <summary>Each image preprocessed, with its outcome.</summary>
    public DbSet<PreprocessedImage> Images => Set<PreprocessedImage>();

    /// <summary>A context on <paramref name="connectionString"/>.</summary>
    public static PreprocessingDbContext Open(string connectionString) =>
        new(OptionsFor<PreprocessingDbContext>(connectionString, Services.Preprocessing));

    protected override void ConfigureTables(ModelBuilder modelBuilder) =>
        modelBuilder.Entity<PreprocessedImage>(image =>
        {
            image.ToTable("images");
            image.Property(i => i.FileName).HasMaxLength(1024);
            image.Property(i => i.ObjectKey).HasMaxLength(1024);
            image.Property(i => i.PreprocessedObjectKey).HasMaxLength(1024);
            image.Property(i => i.Format).HasMaxLength(32);
            image.Property(i => i.Status).HasMaxLength(16).HasConversion(LowerCaseEnum.Converter<PreprocessingStatus>());
            image.HasIndex(i => i.CollectionId);
        });
}

/// <summary>What preprocessing made of an image.</summary>
public enum PreprocessingStatus
{
    /// <summary>Decoded and stored model-ready.</summary>
    Ready,

    /// <summary>Refused; <see cref="PreprocessedImage.RejectionReason"/> says why.</summary>
    Rejected,
}

/// <summary>
/// One image this service preprocessed (its id is the ingestion service's): the outcome it announced, kept so that a
/// redelivered or duplicated <c>ImageIngested</c> changes nothing, and a replayed one is announced again only when the
/// outcome changed.
/// </summary>
public sealed class PreprocessedImage
{
    /// <summary>The image's id.</summary>
    public Guid Id { get; set; }

    /// <summary>The collection it belongs to.</summary>
    public Guid CollectionId { get; set; }

    /// <summary>The file name it was uploaded under.</summary>
    public required string FileName { get; set; }

    /// <summary>Object storage key of the original.</summary>
    public required string ObjectKey { get; set; }

    /// <summary>Ready or rejected.</summary>
    public PreprocessingStatus Status { get; set; }

    /// <summary>The decoded format, when ready.</summary>
    public string? Format { get; set; }

    /// <summary>Width in pixels, when ready.</summary>
    public int? Width { get; set; }

    /// <summary>Height in pixels, when ready.</summary>
    public int? Height { get; set; }

    /// <summary>Object storage key of the model-ready copy, when ready.</summary>
    public string? PreprocessedObjectKey { get; set; }

    /// <summary>Why it was refused, when rejected.</summary>
    public string? RejectionReason { get; set; }

    /// <summary>When the outcome was last written.</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without a running database.</summary>
public sealed class PreprocessingDbContextDesignTimeFactory : IDesignTimeDbContextFactory<PreprocessingDbContext>
{
    public PreprocessingDbContext CreateDbContext(string[] args) => PreprocessingDbContext.Open("Host=localhost;Database=vqapipeline_design");
}
