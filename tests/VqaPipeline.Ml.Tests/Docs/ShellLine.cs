using System.Text;

namespace VqaPipeline.Ml.Tests.Docs;

/// <summary>
/// Just enough of a POSIX shell's reading of one command line to take a documented command apart without running it:
/// single and double quotes, backslash escapes, comments, the control operators that end a simple command
/// (<c>|</c>, <c>||</c>, <c>&amp;&amp;</c>, <c>;</c>, <c>&amp;</c>), redirections (dropped with their target), and
/// parameter and command substitutions (<c>$name</c>, <c>${name}</c>, <c>$(…)</c>), each of which stands for
/// <see cref="SubstitutedValue"/>.
/// </summary>
internal static class ShellLine
{
    /// <summary>
    /// What a substitution reads as: a value every kind of option takes (a number, a path, a name), so a documented
    /// <c>--seed $seed</c> parses as it would with the reader's value.
    /// </summary>
    public const string SubstitutedValue = "1";

    /// <summary>The simple commands of <paramref name="line"/>, each as its words.</summary>
    /// <exception cref="FormatException">A quote or substitution is not closed.</exception>
    public static IReadOnlyList<IReadOnlyList<string>> Commands(string line)
    {
        var reader = new Reader(line);
        reader.Run();
        return reader.Commands;
    }

    private sealed class Reader(string line)
    {
        private readonly StringBuilder _word = new();
        private List<string> _words = [];
        private bool _inWord;
        private bool _dropNextWord;
        private int _at;

        public List<IReadOnlyList<string>> Commands { get; } = [];

        public void Run()
        {
            while (_at < line.Length)
            {
                var c = line[_at];
                if (char.IsWhiteSpace(c))
                {
                    EndWord();
                    _at++;
                }
                else if (c == '#' && !_inWord)
                {
                    break;
                }
                else if (c == '\'')
                {
                    var end = line.IndexOf('\'', _at + 1);
                    if (end < 0)
                        throw new FormatException($"a single quote is not closed in: {line}");
                    _word.Append(line, _at + 1, end - _at - 1);
                    _inWord = true;
                    _at = end + 1;
                }
                else if (c == '"')
                {
                    ReadDoubleQuoted();
                }
                else if (c == '\\')
                {
                    if (_at + 1 < line.Length)
                        _word.Append(line[_at + 1]);
                    _inWord = true;
                    _at += 2;
                }
                else if (c == '$')
                {
                    ReadSubstitution();
                    _inWord = true;
                }
                else if (c is '>' or '<' || (c == '&' && Next(1) == '>'))
                {
                    ReadRedirection();
                }
                else if (c is '|' or ';' or '&')
                {
                    EndCommand();
                    while (_at < line.Length && line[_at] is '|' or ';' or '&')
                        _at++;
                }
                else
                {
                    _word.Append(c);
                    _inWord = true;
                    _at++;
                }
            }
            EndCommand();
        }

        private char Next(int offset) => _at + offset < line.Length ? line[_at + offset] : '\0';

        private void ReadDoubleQuoted()
        {
            _inWord = true;
            _at++;
            while (true)
            {
                if (_at >= line.Length)
                    throw new FormatException($"a double quote is not closed in: {line}");
                var c = line[_at];
                if (c == '"')
                {
                    _at++;
                    return;
                }
                if (c == '\\' && Next(1) is '$' or '`' or '"' or '\\')
                {
                    _word.Append(Next(1));
                    _at += 2;
                }
                else if (c == '$')
                {
                    ReadSubstitution();
                }
                else
                {
                    _word.Append(c);
                    _at++;
                }
            }
        }

        /// <summary>At a <c>$</c>: reads the substitution it starts, appending what it stands for.</summary>
        private void ReadSubstitution()
        {
            var next = Next(1);
            if (next == '(')
            {
                var depth = 0;
                var quote = '\0';
                for (var i = _at + 1; i < line.Length; i++)
                {
                    var c = line[i];
                    if (quote != '\0')
                    {
                        if (c == quote) quote = '\0';
                    }
                    else if (c is '\'' or '"')
                    {
                        quote = c;
                    }
                    else if (c == '(')
                    {
                        depth++;
                    }
                    else if (c == ')' && --depth == 0)
                    {
                        _word.Append(SubstitutedValue);
                        _at = i + 1;
                        return;
                    }
                }
                throw new FormatException($"a command substitution is not closed in: {line}");
            }
            if (next == '{')
            {
                var end = line.IndexOf('}', _at);
                if (end < 0)
                    throw new FormatException($"a parameter substitution is not closed in: {line}");
                _word.Append(SubstitutedValue);
                _at = end + 1;
                return;
            }
            if (char.IsAsciiLetter(next) || next == '_')
            {
                _at++;
                while (_at < line.Length && (char.IsAsciiLetterOrDigit(line[_at]) || line[_at] == '_'))
                    _at++;
                _word.Append(SubstitutedValue);
                return;
            }
            if (char.IsAsciiDigit(next) || next is '?' or '@' or '*' or '#' or '$' or '!')
            {
                _word.Append(SubstitutedValue);
                _at += 2;
                return;
            }
            _word.Append('$');
            _at++;
        }

        /// <summary>
        /// At <c>&gt;</c>, <c>&lt;</c> or <c>&amp;&gt;</c>: a file descriptor number just before it belongs to the
        /// redirection; <c>&gt;&amp;N</c> names no file, anything else is followed by the file, which is no argument.
        /// </summary>
        private void ReadRedirection()
        {
            if (_inWord && _word.Length > 0 && _word.ToString().All(char.IsAsciiDigit))
            {
                _word.Clear();
                _inWord = false;
            }
            EndWord();
            if (line[_at] == '&')
                _at++;
            _at++;
            if (Next(0) is '>' or '<')
                _at++;
            if (Next(0) == '&')
            {
                _at++;
                while (_at < line.Length && (char.IsAsciiDigit(line[_at]) || line[_at] == '-'))
                    _at++;
                return;
            }
            _dropNextWord = true;
        }

        private void EndWord()
        {
            if (!_inWord)
                return;
            if (_dropNextWord)
                _dropNextWord = false;
            else
                _words.Add(_word.ToString());
            _word.Clear();
            _inWord = false;
        }

        private void EndCommand()
        {
            EndWord();
            if (_words.Count > 0)
                Commands.Add(_words);
            _words = [];
        }
    }
}
