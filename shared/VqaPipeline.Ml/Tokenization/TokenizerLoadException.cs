namespace VqaPipeline.Ml.Tokenization;

/// <summary>A tokenizer could not be built from its files (missing or unreadable vocabulary or configuration).</summary>
public sealed class TokenizerLoadException : VqaPipelineException
{
    public TokenizerLoadException(string message) : base(message) { }
    public TokenizerLoadException(string message, Exception? inner) : base(message, inner) { }
}
