namespace VqaPipeline.Ml.Tokenization;

/// <summary>
/// One encoded sequence, <c>[CLS] pieces [SEP]</c> then any right padding: the ids, their token types (all 0 for a
/// single sequence) and the attention mask (1 for real tokens, 0 for padding). <paramref name="Truncated"/> says
/// whether pieces were cut to fit the maximum length.
/// </summary>
public sealed record TokenizedText(int[] InputIds, int[] TokenTypeIds, int[] AttentionMask, bool Truncated)
{
    public int Length => InputIds.Length;
}
