using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace VqaPipeline.Ml.Evaluation;

/// <summary>
/// The answer normalization of the official VQA evaluator (GT-Vision-Lab/VQA,
/// <c>PythonEvaluationTools/vqaEvaluation/vqaEval.py</c>), quirks included. The public methods use Python 3 string
/// semantics (<c>\d</c> is any Unicode decimal digit, <c>lower()</c>/<c>split()</c>/<c>strip()</c> as Python 3's), as
/// the Python 3 ports of the evaluator and the labels of training data do; <see cref="VqaMetric.Official"/> runs the
/// same steps with Python 2.7's semantics, the interpreter the official file is written for.
/// </summary>
public static class VqaAnswerNormalizer
{
    private static readonly FrozenDictionary<string, string> Contractions = new Dictionary<string, string>
    {
        // Verbatim from the official table, oddities included: the capitalised keys ("Im", "Ive", …) can never match
        // because words are lowercased first, and "somebody'd" maps backwards to "somebodyd".
        ["aint"] = "ain't", ["arent"] = "aren't", ["cant"] = "can't", ["couldve"] = "could've", ["couldnt"] = "couldn't",
        ["couldn'tve"] = "couldn't've", ["couldnt've"] = "couldn't've", ["didnt"] = "didn't", ["doesnt"] = "doesn't",
        ["dont"] = "don't", ["hadnt"] = "hadn't", ["hadnt've"] = "hadn't've", ["hadn'tve"] = "hadn't've",
        ["hasnt"] = "hasn't", ["havent"] = "haven't", ["hed"] = "he'd", ["hed've"] = "he'd've", ["he'dve"] = "he'd've",
        ["hes"] = "he's", ["howd"] = "how'd", ["howll"] = "how'll", ["hows"] = "how's", ["Id've"] = "I'd've",
        ["I'dve"] = "I'd've", ["Im"] = "I'm", ["Ive"] = "I've", ["isnt"] = "isn't", ["itd"] = "it'd",
        ["itd've"] = "it'd've", ["it'dve"] = "it'd've", ["itll"] = "it'll", ["let's"] = "let's", ["maam"] = "ma'am",
        ["mightnt"] = "mightn't", ["mightnt've"] = "mightn't've", ["mightn'tve"] = "mightn't've",
        ["mightve"] = "might've", ["mustnt"] = "mustn't", ["mustve"] = "must've", ["neednt"] = "needn't",
        ["notve"] = "not've", ["oclock"] = "o'clock", ["oughtnt"] = "oughtn't", ["ow's'at"] = "'ow's'at",
        ["'ows'at"] = "'ow's'at", ["'ow'sat"] = "'ow's'at", ["shant"] = "shan't", ["shed've"] = "she'd've",
        ["she'dve"] = "she'd've", ["she's"] = "she's", ["shouldve"] = "should've", ["shouldnt"] = "shouldn't",
        ["shouldnt've"] = "shouldn't've", ["shouldn'tve"] = "shouldn't've", ["somebody'd"] = "somebodyd",
        ["somebodyd've"] = "somebody'd've", ["somebody'dve"] = "somebody'd've", ["somebodyll"] = "somebody'll",
        ["somebodys"] = "somebody's", ["someoned"] = "someone'd", ["someoned've"] = "someone'd've",
        ["someone'dve"] = "someone'd've", ["someonell"] = "someone'll", ["someones"] = "someone's",
        ["somethingd"] = "something'd", ["somethingd've"] = "something'd've", ["something'dve"] = "something'd've",
        ["somethingll"] = "something'll", ["thats"] = "that's", ["thered"] = "there'd", ["thered've"] = "there'd've",
        ["there'dve"] = "there'd've", ["therere"] = "there're", ["theres"] = "there's", ["theyd"] = "they'd",
        ["theyd've"] = "they'd've", ["they'dve"] = "they'd've", ["theyll"] = "they'll", ["theyre"] = "they're",
        ["theyve"] = "they've", ["twas"] = "'twas", ["wasnt"] = "wasn't", ["wed've"] = "we'd've",
        ["we'dve"] = "we'd've", ["weve"] = "we've", ["werent"] = "weren't", ["whatll"] = "what'll",
        ["whatre"] = "what're", ["whats"] = "what's", ["whatve"] = "what've", ["whens"] = "when's",
        ["whered"] = "where'd", ["wheres"] = "where's", ["whereve"] = "where've", ["whod"] = "who'd",
        ["whod've"] = "who'd've", ["who'dve"] = "who'd've", ["wholl"] = "who'll", ["whos"] = "who's",
        ["whove"] = "who've", ["whyll"] = "why'll", ["whyre"] = "why're", ["whys"] = "why's", ["wont"] = "won't",
        ["wouldve"] = "would've", ["wouldnt"] = "wouldn't", ["wouldnt've"] = "wouldn't've",
        ["wouldn'tve"] = "wouldn't've", ["yall"] = "y'all", ["yall'll"] = "y'all'll", ["y'allll"] = "y'all'll",
        ["yall'd've"] = "y'all'd've", ["y'alld've"] = "y'all'd've", ["y'all'dve"] = "y'all'd've",
        ["youd"] = "you'd", ["youd've"] = "you'd've", ["you'dve"] = "you'd've", ["youll"] = "you'll",
        ["youre"] = "you're", ["youve"] = "you've",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, string> NumberWords = new Dictionary<string, string>
    {
        ["none"] = "0", ["zero"] = "0", ["one"] = "1", ["two"] = "2", ["three"] = "3", ["four"] = "4",
        ["five"] = "5", ["six"] = "6", ["seven"] = "7", ["eight"] = "8", ["nine"] = "9", ["ten"] = "10",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenSet<string> Articles = new[] { "a", "an", "the" }.ToFrozenSet(StringComparer.Ordinal);

    // The official list, in its order. No ':' and no apostrophe: "don't" keeps its apostrophe.
    private static readonly string[] Punctuation =
        [";", "/", "[", "]", "\"", "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"];

    private static readonly Regex DigitCommaDigit = new(@"(\d)(\,)(\d)", RegexOptions.CultureInvariant);

    // Python 2 compiles the official patterns without re.UNICODE, so there \d is an ASCII digit only.
    private static readonly Regex AsciiDigitCommaDigit = new(@"([0-9])(\,)([0-9])", RegexOptions.CultureInvariant);

    // lmms-eval (after MMF) searches for a run of commas between digits instead.
    private static readonly Regex DigitCommasDigit = new(@"(?<=\d)(\,)+(?=\d)", RegexOptions.CultureInvariant);

    // The official pattern verbatim. "(?!<=\d)" was meant as a lookbehind but is a lookahead for "<=" followed by a
    // digit, which never holds where a '.' follows, so this removes every '.' not followed by a digit.
    private static readonly Regex PeriodNotBeforeDigit = new(@"(?!<=\d)(\.)(?!\d)", RegexOptions.CultureInvariant);

    private static readonly Regex PeriodNotBeforeAsciiDigit = new(@"(?!<=[0-9])(\.)(?![0-9])", RegexOptions.CultureInvariant);

    // The official code calls periodStrip.sub("", text, re.UNICODE): re.UNICODE (32) lands in the count argument.
    private const int MaxPeriodsRemoved = 32;

    /// <summary>
    /// The evaluator's full treatment of a predicted answer, with Python 3 string semantics: '\n' and '\t' become
    /// spaces, the text is stripped, then <see cref="ProcessPunctuation(string)"/> and <see cref="ProcessDigitArticle(string)"/>
    /// run in that order.
    /// </summary>
    public static string Normalize(string answer) => Normalize(answer, PythonVersion.Python3);

    internal static string Normalize(string answer, PythonVersion python) =>
        ProcessDigitArticle(ProcessPunctuation(Clean(answer, python), python), python);

    /// <summary>What both versions of the evaluator do first: '\n' and '\t' become spaces, then <c>strip()</c>.</summary>
    internal static string Clean(string answer, PythonVersion python) =>
        PythonText.Strip(answer.Replace('\n', ' ').Replace('\t', ' '), python);

    /// <summary>
    /// <c>processPunctuation</c> (Python 3): each listed mark is deleted when the input has it next to a space (or the
    /// input holds a digit-comma-digit anywhere), otherwise replaced by a space; then up to 32 periods not followed by
    /// a digit go.
    /// </summary>
    public static string ProcessPunctuation(string text) => ProcessPunctuation(text, PythonVersion.Python3);

    internal static string ProcessPunctuation(string text, PythonVersion python, bool lmmsCommaRule = false)
    {
        var output = text;
        var commaRule = lmmsCommaRule ? DigitCommasDigit : python == PythonVersion.Python27 ? AsciiDigitCommaDigit : DigitCommaDigit;
        var hasDigitCommaDigit = commaRule.IsMatch(text);
        foreach (var mark in Punctuation)
        {
            // The condition looks at the original input, not at the text rewritten so far.
            var delete = text.Contains(mark + " ", StringComparison.Ordinal) ||
                         text.Contains(" " + mark, StringComparison.Ordinal) || hasDigitCommaDigit;
            output = output.Replace(mark, delete ? "" : " ", StringComparison.Ordinal);
        }
        var periods = python == PythonVersion.Python27 ? PeriodNotBeforeAsciiDigit : PeriodNotBeforeDigit;
        return periods.Replace(output, "", MaxPeriodsRemoved);
    }

    /// <summary>
    /// <c>processDigitArticle</c> (Python 3): lowercases, splits on whitespace, turns number words into digits, drops
    /// articles, restores the apostrophe of listed contractions, and joins with single spaces.
    /// </summary>
    public static string ProcessDigitArticle(string text) => ProcessDigitArticle(text, PythonVersion.Python3);

    internal static string ProcessDigitArticle(string text, PythonVersion python)
    {
        var words = new List<string>();
        foreach (var word in PythonText.Split(PythonText.Lower(text, python), python))
        {
            var mapped = NumberWords.GetValueOrDefault(word, word);
            if (!Articles.Contains(mapped)) words.Add(Contractions.GetValueOrDefault(mapped, mapped));
        }
        return string.Join(' ', words);
    }
}
