using Microsoft.EntityFrameworkCore;

namespace VqaPipeline.Data;

/// <summary>
/// One ranked answer a model gave to one question about one image: a row of the retrieval index. The natural key
/// (image, normalized question, model version, rank) is unique, so the same answers indexed twice (a redelivered or
/// replayed <c>AnswersProduced</c>) stay one row.
/// </summary>
public sealed class IndexedAnswer
{
    /// <summary>The row's id.</summary>
    public long Id { get; set; }

    /// <summary>The collection the image belongs to.</summary>
    public Guid CollectionId { get; set; }

    /// <summary>The image the answer is about.</summary>
    public Guid ImageId { get; set; }

    /// <summary>The question as the VQA evaluation normalizes it (case, punctuation, articles, number words).</summary>
    public required string Question { get; set; }

    /// <summary>The question as it was asked.</summary>
    public required string QuestionAsked { get; set; }

    /// <summary>The answer as the model gave it.</summary>
    public required string Answer { get; set; }

    /// <summary>The answer normalized like the question; searches match on it.</summary>
    public required string NormalizedAnswer { get; set; }

    /// <summary>1 for the model's best answer to this question about this image.</summary>
    public int Rank { get; set; }

    /// <summary>The model's score, in [0, 1].</summary>
    public double Score { get; set; }

    /// <summary>The model that gave the answer.</summary>
    public required string ModelVersion { get; set; }

    /// <summary>The question job the answer came from (the latest one, when several gave it).</summary>
    public Guid JobId { get; set; }

    /// <summary>When the inference service produced it.</summary>
    public DateTimeOffset ProducedAt { get; set; }
}

/// <summary>
/// A question some model has answered about (some images of) a collection: what tells a question never asked of a
/// collection, which starts a job, from one whose answers simply do not match.
/// </summary>
public sealed class IndexedQuestion
{
    /// <summary>The collection asked about.</summary>
    public Guid CollectionId { get; set; }

    /// <summary>The normalized question.</summary>
    public required string Question { get; set; }

    /// <summary>The model that answered.</summary>
    public required string ModelVersion { get; set; }

    /// <summary>The question as it was last asked.</summary>
    public required string QuestionAsked { get; set; }

    /// <summary>When the latest answers to it were produced; searches without a model version take the latest.</summary>
    public DateTimeOffset LastProducedAt { get; set; }
}

/// <summary>A question job the indexing service started for a search about a question never asked of a collection.</summary>
public sealed class SearchJob
{
    /// <summary>The collection asked about.</summary>
    public Guid CollectionId { get; set; }

    /// <summary>The normalized question.</summary>
    public required string Question { get; set; }

    /// <summary>The model the search asked for; empty for the jobs API's default model.</summary>
    public required string Model { get; set; }

    /// <summary>The job's id, as the jobs API gave it.</summary>
    public Guid JobId { get; set; }

    /// <summary>Where the job's progress is, as the jobs API gave it.</summary>
    public required string StatusUrl { get; set; }

    /// <summary>When the search started it.</summary>
    public DateTimeOffset RequestedAt { get; set; }
}

internal static class IndexModel
{
    /// <summary>The retrieval index's tables, keys and the indexes its search query runs on.</summary>
    public static void ConfigureIndex(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<IndexedAnswer>(answer =>
        {
            answer.ToTable("indexed_answers");
            answer.Property(a => a.Question).HasMaxLength(1000);
            answer.Property(a => a.QuestionAsked).HasMaxLength(1000);
            answer.Property(a => a.Answer).HasMaxLength(255);
            answer.Property(a => a.NormalizedAnswer).HasMaxLength(255);
            answer.Property(a => a.ModelVersion).HasMaxLength(500);
            answer.HasIndex(a => new { a.ImageId, a.Question, a.ModelVersion, a.Rank }).IsUnique();
            // The search: equality on question, answer, collection and model version, then the best scores first.
            answer.HasIndex(a => new { a.Question, a.NormalizedAnswer, a.CollectionId, a.ModelVersion, a.Score })
                .IsDescending(false, false, false, false, true)
                .HasDatabaseName("ix_indexed_answers_search");
        });

        modelBuilder.Entity<IndexedQuestion>(question =>
        {
            question.ToTable("indexed_questions");
            question.Property(q => q.Question).HasMaxLength(1000);
            question.Property(q => q.QuestionAsked).HasMaxLength(1000);
            question.Property(q => q.ModelVersion).HasMaxLength(500);
            question.HasKey(q => new { q.CollectionId, q.Question, q.ModelVersion });
        });

        modelBuilder.Entity<SearchJob>(job =>
        {
            job.ToTable("search_jobs");
            job.Property(j => j.Question).HasMaxLength(1000);
            job.Property(j => j.Model).HasMaxLength(500);
            job.Property(j => j.StatusUrl).HasMaxLength(2000);
            job.HasKey(j => new { j.CollectionId, j.Question, j.Model });
        });
    }
}
