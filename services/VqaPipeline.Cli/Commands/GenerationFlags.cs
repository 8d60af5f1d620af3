using System.CommandLine;
using VqaPipeline.Ml.Pipelines;

namespace VqaPipeline.Cli.Commands;

/// <summary>The flags of generative models (BLIP, BLIP-2): answer length, beams, prompt and candidate answers.</summary>
internal sealed class GenerationFlags
{
    public const string Names = "--max-new-tokens, --num-beams, --prompt and --candidates";

    private readonly Option<int?> maxNewTokens = new("--max-new-tokens")
    {
        Description = "Generative models: new tokens at most (default: generate's max_length of 20)",
    };

    private readonly Option<int?> numBeams = new("--num-beams")
    {
        Description = "Generative models: beams for beam search (default 1, greedy)",
    };

    private readonly Option<string?> prompt = new("--prompt")
    {
        Description = "Generative models: the text given to the model, with {question} where the question goes " +
                      "(default: the question for BLIP, \"Question: {question} Answer:\" for BLIP-2)",
    };

    private readonly Option<string?> candidates = new("--candidates")
    {
        Description = "Generative models: comma-separated answers to score instead of generating (e.g. yes,no); " +
                      "prints each candidate's probability, highest first",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(maxNewTokens);
        command.Options.Add(numBeams);
        command.Options.Add(prompt);
        command.Options.Add(candidates);
    }

    /// <summary>The options given, checked; null when no generative flag was given.</summary>
    public GenerationOptions? Parse(ParseResult parse)
    {
        var tokens = parse.GetValue(maxNewTokens);
        var beams = parse.GetValue(numBeams);
        var template = parse.GetValue(prompt);
        var list = parse.GetValue(candidates);
        if (tokens is null && beams is null && template is null && list is null) return null;
        if (tokens is < 1) throw new CliUsageException($"--max-new-tokens must be at least 1 (got {tokens}).");
        if (beams is < 1) throw new CliUsageException($"--num-beams must be at least 1 (got {beams}).");
        if (template is not null && !template.Contains("{question}", StringComparison.Ordinal))
            throw new CliUsageException($"--prompt must contain {{question}} where the question goes (got \"{template}\").");
        var answers = list?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [];
        if (list is not null && answers.Length == 0)
            throw new CliUsageException("--candidates needs at least one answer (e.g. --candidates yes,no).");
        return new GenerationOptions
        {
            MaxNewTokens = tokens,
            NumBeams = beams ?? 1,
            Prompt = template,
            Candidates = answers,
        };
    }
}
