using System.Security.Cryptography;
using System.Text;

namespace VqaPipeline.Gateway.Auth;

/// <summary>
/// The text of an API key: <c>vqa_&lt;prefix&gt;_&lt;secret&gt;</c>, an 8-character prefix that names the key in lists and
/// a secret of 256 random bits (64 hex digits). Only the SHA-256 of the whole text is stored.
/// </summary>
public static class ApiKeyText
{
    /// <summary>Characters of the prefix.</summary>
    public const int PrefixLength = 8;

    private const string Scheme = "vqa_";
    private const string PrefixAlphabet = "abcdefghijkmnpqrstuvwxyz23456789";

    /// <summary>A new key: its full text (shown once) and its prefix.</summary>
    public static (string Key, string Prefix) Generate()
    {
        var prefix = RandomNumberGenerator.GetString(PrefixAlphabet, PrefixLength);
        return ($"{Scheme}{prefix}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))}", prefix);
    }

    /// <summary>The SHA-256 of <paramref name="key"/>'s text: what the database keeps and requests are looked up by.</summary>
    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>Whether <paramref name="text"/> has the form of a key (it may still be unknown).</summary>
    public static bool LooksLikeKey(string text) =>
        text.Length > Scheme.Length + PrefixLength + 1 && text.StartsWith(Scheme, StringComparison.Ordinal)
        && text[Scheme.Length + PrefixLength] == '_';
}
