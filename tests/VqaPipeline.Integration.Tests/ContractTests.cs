using System.Text.Json;
using VqaPipeline.Contracts.V1;

namespace VqaPipeline.Integration.Tests;

public sealed class ContractTests
{
    private static readonly Type[] Messages =
        typeof(ContractVersion).Assembly.GetTypes()
            .Where(type => type.IsPublic && type.GetProperty("SchemaVersion") is not null)
            .ToArray();

    [Fact]
    public void Every_message_is_a_namespaced_record_of_schema_version_1()
    {
        Assert.Subset(
            Messages.Select(type => type.Name).ToHashSet(),
            new HashSet<string> { "AnswersProduced", "ImageIngested", "ImagePreprocessed", "ImageRejected", "QuestionJobSubmitted" });
        Assert.All(Messages, type => Assert.Equal("VqaPipeline.Contracts.V1", type.Namespace));
        Assert.All(Messages, type => Assert.NotNull(type.GetMethod("<Clone>$")));
    }

    [Fact]
    public void Answers_round_trip_through_json_with_their_version()
    {
        var produced = new AnswersProduced(
            Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), "dandelin/vilt-b32-finetuned-vqa@main",
            [new QuestionAnswers("How many cats?", [new Answer("2", 0.91), new Answer("3", 0.05)])],
            DateTimeOffset.UnixEpoch);

        var json = JsonSerializer.Serialize(produced, JsonSerializerOptions.Web);
        var read = JsonSerializer.Deserialize<AnswersProduced>(json, JsonSerializerOptions.Web)!;

        Assert.Contains("\"schemaVersion\":1", json);
        Assert.Equal(produced.JobId, read.JobId);
        Assert.Equal(produced.Questions.Single().Answers, read.Questions.Single().Answers);
        Assert.Equal(produced.Questions.Single().Question, read.Questions.Single().Question);
        Assert.Equal(produced with { Questions = read.Questions }, read);
    }
}
