using VqaPipeline.Ml.Evaluation;

namespace VqaPipeline.Ml.Tests.Evaluation;

/// <summary>
/// Each rule and quirk of the official vqaEval.py's answer processing, with the value that code gives on Python 3
/// (the public methods) and on Python 2.7 (what <see cref="VqaMetric.Official"/> runs).
/// </summary>
public class VqaAnswerNormalizerTests
{
    [Theory]
    [InlineData("left-handed", "left handed")] // no space beside the mark: replaced by a space
    [InlineData("a,b", "a b")]
    [InlineData("yes!", "yes ")]
    [InlineData("[ok] fine", " ok fine")] // "] " is in the input, so ']' is deleted while '[' (no space beside it) becomes one
    [InlineData("hello, world", "hello world")] // ", " is in the input: deleted
    [InlineData("x -y", "x y")] // " -" is in the input: deleted
    [InlineData("(a)", " a ")]
    public void Punctuation_is_deleted_next_to_a_space_and_replaced_by_a_space_otherwise(string input, string expected) =>
        Assert.Equal(expected, VqaAnswerNormalizer.ProcessPunctuation(input));

    [Theory]
    [InlineData("1,000", "1000")]
    [InlineData("1,000 (approx)", "1000 approx")]
    [InlineData("1,2;3", "123")] // a digit-comma-digit anywhere deletes every mark, not just the comma
    public void A_digit_comma_digit_anywhere_deletes_every_mark(string input, string expected) =>
        Assert.Equal(expected, VqaAnswerNormalizer.ProcessPunctuation(input));

    [Theory]
    [InlineData("3.5", "3.5")]
    [InlineData(".5", ".5")]
    [InlineData("3.", "3")]
    [InlineData("e.g.", "eg")]
    [InlineData("mr. t", "mr t")]
    [InlineData("...", "")]
    public void Periods_go_unless_a_digit_follows(string input, string expected) =>
        Assert.Equal(expected, VqaAnswerNormalizer.ProcessPunctuation(input));

    [Fact]
    public void At_most_32_periods_are_removed_because_re_UNICODE_lands_in_the_count_argument()
    {
        Assert.Equal(new string('.', 8), VqaAnswerNormalizer.ProcessPunctuation(new string('.', 40)));
        var dotted = string.Concat(Enumerable.Repeat("a.", 40));
        Assert.Equal(new string('a', 33) + string.Concat(Enumerable.Repeat(".a", 7)) + ".",
            VqaAnswerNormalizer.ProcessPunctuation(dotted));
    }

    [Theory]
    [InlineData("time: 3:00")] // ':' is not in the list
    [InlineData("rock'n'roll")] // nor is the apostrophe
    [InlineData("what's")]
    public void Colons_and_apostrophes_are_kept(string input) =>
        Assert.Equal(input, VqaAnswerNormalizer.ProcessPunctuation(input));

    [Fact]
    public void Punctuation_is_not_lowercased_or_split() =>
        Assert.Equal("hi  There", VqaAnswerNormalizer.ProcessPunctuation("hi  There"));

    [Theory]
    [InlineData("The Dog", "dog")]
    [InlineData("an apple", "apple")]
    [InlineData("a", "")]
    [InlineData("theater", "theater")]
    public void Articles_are_dropped_as_whole_words(string input, string expected) =>
        Assert.Equal(expected, VqaAnswerNormalizer.ProcessDigitArticle(input));

    [Theory]
    [InlineData("two cats", "2 cats")]
    [InlineData("none", "0")]
    [InlineData("zero", "0")]
    [InlineData("Ten", "10")]
    [InlineData("eleven", "eleven")]
    [InlineData("one two three four five six seven eight nine", "1 2 3 4 5 6 7 8 9")]
    public void Number_words_up_to_ten_become_digits(string input, string expected) =>
        Assert.Equal(expected, VqaAnswerNormalizer.ProcessDigitArticle(input));

    [Theory]
    [InlineData("dont", "don't")]
    [InlineData("Dont", "don't")]
    [InlineData("i dont know", "i don't know")]
    [InlineData("whats", "what's")]
    [InlineData("oclock", "o'clock")]
    [InlineData("Im", "im")] // the table's capitalised keys never match: words are lowercased first
    [InlineData("somebody'd", "somebodyd")] // the table maps this one backwards
    public void Listed_contractions_get_their_apostrophe(string input, string expected) =>
        Assert.Equal(expected, VqaAnswerNormalizer.ProcessDigitArticle(input));

    [Theory]
    [InlineData("hi  there", "hi there")]
    [InlineData("  hi\u00a0there\u2003 ", "hi there")]
    [InlineData("a\u001cb", "b")] // Python's split() also splits on U+001C..U+001F
    [InlineData("\u0130stanbul", "i\u0307stanbul")] // Python's full lowercase mapping
    public void Words_split_and_lowercase_as_in_python(string input, string expected) =>
        Assert.Equal(expected, VqaAnswerNormalizer.ProcessDigitArticle(input));

    [Theory]
    [InlineData("  Two\tDogs!\n", "2 dogs")]
    [InlineData("hello\\tworld", "hello tworld")] // a literal backslash is punctuation, not a tab
    [InlineData("The 1,000 Dont.", "1000 don't")]
    [InlineData("what's up?", "what's up")]
    [InlineData("", "")]
    public void Normalize_cleans_then_processes_punctuation_then_digits_and_articles(string input, string expected) =>
        Assert.Equal(expected, VqaAnswerNormalizer.Normalize(input));

    [Theory]
    [InlineData("\u03a3", "\u03c3")] // nothing cased before it
    [InlineData("\u0391\u03a3\u03a3\u039f\u03a3", "\u03b1\u03c3\u03c3\u03bf\u03c2")] // word-final: the final form
    [InlineData("\u039f\u03a3'.", "\u03bf\u03c2'.")] // case-ignorable marks after it do not count
    [InlineData("\u039f\u03a3 \u0391", "\u03bf\u03c2 \u03b1")]
    [InlineData("\u0130\u03a3", "i\u0307\u03c2")] // the combining dot is case-ignorable; the "i" before it is cased
    public void Python_3_lowercases_a_capital_sigma_that_ends_a_word_to_the_final_form(string input, string expected) =>
        Assert.Equal(expected, VqaAnswerNormalizer.ProcessDigitArticle(input));

    [Theory]
    [InlineData("\u0130stanbul", "istanbul", "i\u0307stanbul")] // simple mapping in 2.7, full in 3
    [InlineData("\u0391\u03a3\u03a3\u039f\u03a3", "\u03b1\u03c3\u03c3\u03bf\u03c3", "\u03b1\u03c3\u03c3\u03bf\u03c2")] // no final sigma in 2.7
    [InlineData("\u13a0", "\u13a0", "\uab70")] // Cherokee lowercase is Unicode 8.0, newer than Python 2.7's 5.2
    [InlineData("\U00010400", "\U00010428", "\U00010428")] // beyond the BMP both map
    [InlineData("x\u180ey", "x y", "x\u180ey")] // U+180E was a space separator until Unicode 6.3
    public void Python_2_7_and_3_lowercase_and_split_by_their_own_unicode_tables(string input, string python27, string python3)
    {
        Assert.Equal(python27, VqaAnswerNormalizer.ProcessDigitArticle(input, PythonVersion.Python27));
        Assert.Equal(python3, VqaAnswerNormalizer.ProcessDigitArticle(input, PythonVersion.Python3));
    }

    [Theory]
    [InlineData("\u0661,\u0662", "\u0661 \u0662", "\u0661\u0662")] // Arabic-Indic digits: a digit-comma-digit only in 3
    [InlineData("x.\u0661", "x\u0661", "x.\u0661")] // a period before a non-ASCII digit goes in 2.7
    [InlineData("1,000.", "1000", "1000")]
    public void Python_2_7_regular_expressions_see_only_ascii_digits(string input, string python27, string python3)
    {
        Assert.Equal(python27, VqaAnswerNormalizer.ProcessPunctuation(input, PythonVersion.Python27));
        Assert.Equal(python3, VqaAnswerNormalizer.ProcessPunctuation(input, PythonVersion.Python3));
    }

    [Fact]
    public void Python_2_7_strips_U_180E_and_the_ascii_separators() =>
        Assert.Equal("dog", VqaAnswerNormalizer.Clean("\u180e\u001cdog\t\n", PythonVersion.Python27));
}
