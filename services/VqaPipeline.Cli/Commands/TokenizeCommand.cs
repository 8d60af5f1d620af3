using System.CommandLine;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Ml.Tokenization;

namespace VqaPipeline.Cli.Commands;

/// <summary><c>vqa tokenize TEXT</c>: the word pieces and ids a model sees, as Python's BertTokenizer gives them.</summary>
internal static class TokenizeCommand
{
    public static Command Create(CliConsole console)
    {
        var text = new Argument<string>("text") { Description = "The text to tokenize" };
        var model = CommonOptions.Model();
        var maxLength = new Option<int?>("--max-length") { Description = "Truncate (and with --pad, pad) to this many ids" };
        var pad = new Option<bool>("--pad") { Description = "Pad to --max-length" };
        var json = CommonOptions.Json();
        var command = new Command("tokenize",
            "Show the word pieces and ids of a text.\n\nExample:\n  vqa tokenize \"How many cats are there?\" --model ./vilt-tiny --max-length 40 --pad")
        {
            text, model, maxLength, pad, json,
        };
        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var folder = await ModelResolver.ResolveAsync(parse.GetRequiredValue(model), console.Hub, cancellationToken);
            var tokenizer = BertTokenizer.FromPretrained(folder);
            var input = parse.GetRequiredValue(text);
            var limit = parse.GetValue(maxLength);
            if (parse.GetValue(pad) && limit is null) throw new CliUsageException("--pad needs --max-length.");
            // [CLS] and [SEP] take two places; the tokenizer rejects a length that leaves none for the text.
            if (limit < 3) throw new CliUsageException($"--max-length must be at least 3 (got {limit}): [CLS] and [SEP] take two places.");
            var encoded = tokenizer.Encode(input, limit, padToMaxLength: parse.GetValue(pad), truncate: limit is not null);
            var tokens = tokenizer.Tokenize(input);
            if (parse.GetValue(json))
                console.WriteJson(new
                {
                    tokens,
                    inputIds = encoded.InputIds,
                    tokenTypeIds = encoded.TokenTypeIds,
                    attentionMask = encoded.AttentionMask,
                    truncated = encoded.Truncated,
                });
            else
            {
                console.Out.WriteLine($"tokens          {string.Join(' ', tokens)}");
                console.Out.WriteLine($"input_ids       {string.Join(' ', encoded.InputIds)}");
                console.Out.WriteLine($"attention_mask  {string.Join(' ', encoded.AttentionMask)}");
                if (encoded.Truncated) console.Warn("truncated");
            }
            return 0;
        });
        return command;
    }
}
