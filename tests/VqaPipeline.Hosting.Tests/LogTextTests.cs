namespace VqaPipeline.Hosting.Tests;

public sealed class LogTextTests
{
    [Fact]
    public void Line_breaks_are_escaped_so_a_name_cannot_start_a_forged_log_line()
    {
        var sanitized = LogText.Sanitize("cat.png\r\n[12:00:00 INF] [FAKE] injected\n");

        Assert.Equal("cat.png\\r\\n[12:00:00 INF] [FAKE] injected\\n", sanitized);
        Assert.DoesNotContain('\r', sanitized);
        Assert.DoesNotContain('\n', sanitized);
    }

    [Theory]
    [InlineData("\u001b[31mred", "\\u001B[31mred")] // ANSI escape: would repaint a terminal
    [InlineData("a\u0000b\u0007c\u007f", "a\\u0000b\\u0007c\\u007F")] // NUL, BEL, DEL
    [InlineData("a\u0085b\u009bc", "a\\u0085b\\u009Bc")] // C1: next line, control sequence introducer
    [InlineData("a\u2028b\u2029c", "a\\u2028b\\u2029c")] // Unicode line and paragraph separators
    [InlineData("invoice\u202Egnp.exe", "invoice\\u202Egnp.exe")] // right-to-left override: shows "exe.png"
    [InlineData("a\u2066b\u2069\u200e\u200f\u061c", "a\\u2066b\\u2069\\u200E\\u200F\\u061C")] // isolates and marks
    [InlineData("tab\there", "tab\\there")]
    public void Control_and_bidi_characters_are_written_as_their_escapes(string text, string expected) =>
        Assert.Equal(expected, LogText.Sanitize(text));

    [Fact]
    public void Ordinary_names_in_any_script_are_kept_as_they_are()
    {
        foreach (var name in new[] { "photo 1.jpg", "狗的照片.png", "صورة.jpeg", "Zoë's 🐈.webp", "" })
            Assert.Equal(name, LogText.Sanitize(name));
        Assert.Null(LogText.Sanitize(null));
    }

    [Fact]
    public void Long_text_is_cut_to_the_limit_with_an_ellipsis()
    {
        Assert.Equal(new string('a', LogText.MaxLength), LogText.Sanitize(new string('a', LogText.MaxLength)));

        var cut = LogText.Sanitize(new string('a', 10_000));

        Assert.Equal(new string('a', LogText.MaxLength) + LogText.Ellipsis, cut);
        Assert.Equal("abc" + LogText.Ellipsis, LogText.Sanitize("abcdef", maxLength: 3));
    }

    [Fact]
    public void A_cut_never_splits_an_escape_or_a_surrogate_pair()
    {
        // "ab" then "\n" (2 characters as an escape) does not fit 3: the escape is left out whole.
        Assert.Equal("ab" + LogText.Ellipsis, LogText.Sanitize("ab\ncd", maxLength: 3));
        // 🐈 is two UTF-16 characters; at a limit of 2 only its first half would fit.
        Assert.Equal("a" + LogText.Ellipsis, LogText.Sanitize("a🐈b", maxLength: 2));
        Assert.Equal("a🐈" + LogText.Ellipsis, LogText.Sanitize("a🐈b", maxLength: 3));
    }
}
