using System.Globalization;
using System.Text;

namespace LuaXmpp.Storage.Internal;

/// <summary>
/// Reads the Lua data Prosody's util.datamanager writes, without running it: a <c>.dat</c> file is
/// <c>return VALUE;</c>, a <c>.list</c> file a sequence of <c>item(VALUE);</c>. VALUE may only be a
/// literal (nil, booleans, numbers including Prosody's <c>(1/0)</c>, <c>(-1/0)</c>, <c>(0/0)</c>,
/// strings with every Lua 5.4 escape and long brackets, tables of literals). Anything else (a call,
/// a name, an operator) is code, not data, and is refused with a <see cref="FormatException"/>
/// naming the line, as is nesting deeper than <see cref="MaxDepth"/>.
/// </summary>
internal sealed class LuaDataReader
{
    /// <summary>util.serialization stops at 127 levels; a little slack for hand-edited files.</summary>
    public const int MaxDepth = 200;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly byte[] _text;
    private readonly int _end;
    private int _pos;
    private int _line = 1;

    public LuaDataReader(byte[] text, int length)
    {
        _text = text;
        _end = length;
    }

    public LuaDataReader(byte[] text)
        : this(text, text.Length)
    {
    }

    public int Position => _pos;

    public bool AtEnd
    {
        get
        {
            SkipSpace();
            return _pos >= _end;
        }
    }

    /// <summary>A whole <c>.dat</c> file: <c>return VALUE</c> with an optional <c>;</c>.</summary>
    public static object? ReadReturn(byte[] text)
    {
        var reader = new LuaDataReader(text);
        if (reader.AtEnd) return null; // an empty chunk returns nothing, which Prosody reads as no data
        reader.ExpectWord("return");
        var value = reader.ReadValue(0);
        reader.SkipSpace();
        reader.Accept((byte)';');
        if (!reader.AtEnd) throw reader.Error("data after the returned value");
        return value;
    }

    /// <summary>
    /// The next <c>item(VALUE);</c> of a <c>.list</c> file, or false at the end. <paramref name="start"/>
    /// and <paramref name="end"/> are the byte range of the statement, for reading the item again later.
    /// </summary>
    public bool TryReadItem(out object? value, out int start, out int end)
    {
        value = null;
        start = end = 0;
        if (AtEnd) return false;
        start = _pos;
        ExpectWord("item");
        SkipSpace();
        if (Accept((byte)'('))
        {
            value = ReadValue(0);
            SkipSpace();
            if (!Accept((byte)')')) throw Error("')' expected after the item");
        }
        else if (Peek() == '{') value = ReadValue(0); // item{...}: Lua's call without parentheses
        else throw Error("'(' expected after item");
        SkipSpace();
        Accept((byte)';');
        end = _pos;
        return true;
    }

    private object? ReadValue(int depth)
    {
        SkipSpace();
        if (_pos >= _end) throw Error("unexpected end of data");
        byte c = _text[_pos];
        switch (c)
        {
            case (byte)'{':
                if (depth >= MaxDepth) throw Error($"tables nested deeper than {MaxDepth}");
                return ReadTable(depth + 1);
            case (byte)'"' or (byte)'\'':
                return ReadQuoted(c);
            case (byte)'[' when _pos + 1 < _end && _text[_pos + 1] is (byte)'[' or (byte)'=':
                return ReadLongString();
            case (byte)'(':
                return ReadSpecialNumber();
            case (byte)'-':
                _pos++;
                SkipSpace();
                if (_pos < _end && _text[_pos] == '(') return Negate(ReadSpecialNumber());
                return Negate(ReadNumber());
            case >= (byte)'0' and <= (byte)'9' or (byte)'.':
                return ReadNumber();
        }
        if (IsNameStart(c))
        {
            string word = ReadName();
            return word switch
            {
                "nil" => null,
                "true" => true,
                "false" => false,
                _ => throw Error($"'{word}' is not data (only literals are accepted)"),
            };
        }
        throw Error($"unexpected character '{(char)c}'");
    }

    private DataTable ReadTable(int depth)
    {
        _pos++; // '{'
        var table = new DataTable();
        long next = 1;
        while (true)
        {
            SkipSpace();
            if (Accept((byte)'}')) return table;
            object? key;
            object? value;
            if (Peek() == '[' && !(_pos + 1 < _end && _text[_pos + 1] is (byte)'[' or (byte)'='))
            {
                _pos++;
                key = ReadValue(depth);
                SkipSpace();
                if (!Accept((byte)']')) throw Error("']' expected after a table key");
                ExpectSymbol('=');
                value = ReadValue(depth);
            }
            else if (IsNameStart(Peek()) && IsFieldName())
            {
                key = ReadName();
                ExpectSymbol('=');
                value = ReadValue(depth);
            }
            else
            {
                key = next++;
                value = ReadValue(depth);
            }
            Store(table, key, value);
            SkipSpace();
            if (Accept((byte)',') || Accept((byte)';')) continue;
            if (Accept((byte)'}')) return table;
            throw Error("',' ';' or '}' expected in a table");
        }
    }

    private void Store(DataTable table, object? key, object? value)
    {
        switch (key)
        {
            case null:
                throw Error("a table key is nil");
            case double d when double.IsNaN(d):
                throw Error("a table key is NaN");
            case DataTable:
                throw Error("a table used as a table key");
        }
        key = LuaNumber.NormalizeKey(key);
        if (value is null) table.Remove(key); // Lua: assigning nil removes the key
        else table[key] = value;
    }

    /// <summary>A name followed by '=' (not '==') is a field name; otherwise the name is a value (true, nil...).</summary>
    private bool IsFieldName()
    {
        int save = _pos, saveLine = _line;
        ReadName();
        SkipSpace();
        bool field = Peek() == '=' && !(_pos + 1 < _end && _text[_pos + 1] == '=');
        _pos = save;
        _line = saveLine;
        return field;
    }

    private object ReadSpecialNumber()
    {
        // util.serialization writes inf, -inf and nan as (1/0), (-1/0) and (0/0); nothing else in parentheses.
        foreach (var (text, value) in new[] { ("(1/0)", double.PositiveInfinity), ("(-1/0)", double.NegativeInfinity), ("(0/0)", double.NaN) })
        {
            if (Matches(text))
            {
                _pos += text.Length;
                return value;
            }
        }
        throw Error("an expression in parentheses is not data");
    }

    private bool Matches(string text)
    {
        if (_end - _pos < text.Length) return false;
        for (int i = 0; i < text.Length; i++)
        {
            if (_text[_pos + i] != text[i]) return false;
        }
        return true;
    }

    private object Negate(object number) => number switch
    {
        long l => (object)unchecked(-l), // Lua integer negation wraps
        double d => (object)(-d),
        _ => throw Error("'-' before something that is not a number"),
    };

    private object ReadNumber()
    {
        int start = _pos;
        if (_pos + 1 < _end && _text[_pos] == '0' && _text[_pos + 1] is (byte)'x' or (byte)'X')
        {
            _pos += 2;
            while (_pos < _end && char.IsAsciiHexDigit((char)_text[_pos])) _pos++;
            if (_pos < _end && (_text[_pos] is (byte)'.' or (byte)'p' or (byte)'P')) throw Error("hexadecimal floats are not accepted");
            var hex = Encoding.ASCII.GetString(_text, start + 2, _pos - start - 2);
            if (hex.Length == 0 || hex.Length > 16) throw Error("malformed hexadecimal number");
            return unchecked((long)ulong.Parse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
        }
        while (_pos < _end && (char.IsAsciiDigit((char)_text[_pos]) || _text[_pos] is (byte)'.' or (byte)'e' or (byte)'E'
            || (_text[_pos] is (byte)'+' or (byte)'-' && _text[_pos - 1] is (byte)'e' or (byte)'E')))
        {
            _pos++;
        }
        if (_pos < _end && IsNameStart(_text[_pos])) throw Error("malformed number");
        var s = Encoding.ASCII.GetString(_text, start, _pos - start);
        bool integral = !s.Contains('.') && !s.Contains('e') && !s.Contains('E');
        if (integral && long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var l)) return l;
        // A decimal integer too big for 64 bits is a float in Lua.
        if (double.TryParse(s, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var d)) return d;
        throw Error($"malformed number '{s}'");
    }

    private string ReadQuoted(byte quote)
    {
        _pos++;
        // Most strings have no escapes: decode them in place.
        int close = Array.IndexOf(_text, quote, _pos, _end - _pos);
        if (close >= 0 && _text.AsSpan(_pos, close - _pos).IndexOfAny((byte)'\\', (byte)'\n', (byte)'\r') < 0)
        {
            var plain = Utf8.GetString(_text, _pos, close - _pos);
            _pos = close + 1;
            return plain;
        }
        var bytes = new List<byte>();
        while (true)
        {
            if (_pos >= _end) throw Error("unfinished string");
            byte c = _text[_pos++];
            if (c == quote) break;
            if (c is (byte)'\n' or (byte)'\r') throw Error("unfinished string (line break inside quotes)");
            if (c != '\\')
            {
                bytes.Add(c);
                continue;
            }
            ReadEscape(bytes);
        }
        return Utf8.GetString(bytes.ToArray());
    }

    private void ReadEscape(List<byte> bytes)
    {
        if (_pos >= _end) throw Error("unfinished string");
        byte e = _text[_pos++];
        switch (e)
        {
            case (byte)'a': bytes.Add(7); break;
            case (byte)'b': bytes.Add(8); break;
            case (byte)'f': bytes.Add(12); break;
            case (byte)'n': bytes.Add(10); break;
            case (byte)'r': bytes.Add(13); break;
            case (byte)'t': bytes.Add(9); break;
            case (byte)'v': bytes.Add(11); break;
            case (byte)'\\' or (byte)'"' or (byte)'\'': bytes.Add(e); break;
            case (byte)'\n' or (byte)'\r':
                // An escaped line break is a line break (\r\n or \n\r count as one).
                _line++;
                if (_pos < _end && _text[_pos] is (byte)'\n' or (byte)'\r' && _text[_pos] != e) _pos++;
                bytes.Add(10);
                break;
            case (byte)'z':
                while (_pos < _end && IsSpace(_text[_pos]))
                {
                    if (_text[_pos] == '\n') _line++;
                    _pos++;
                }
                break;
            case (byte)'x':
                if (_pos + 2 > _end || !char.IsAsciiHexDigit((char)_text[_pos]) || !char.IsAsciiHexDigit((char)_text[_pos + 1])) throw Error("malformed \\x escape");
                bytes.Add(byte.Parse(Encoding.ASCII.GetString(_text, _pos, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
                _pos += 2;
                break;
            case (byte)'u':
                ReadUnicodeEscape(bytes);
                break;
            case >= (byte)'0' and <= (byte)'9':
                int value = e - '0';
                for (int i = 0; i < 2 && _pos < _end && char.IsAsciiDigit((char)_text[_pos]); i++) value = value * 10 + (_text[_pos++] - '0');
                if (value > 255) throw Error("decimal escape too large");
                bytes.Add((byte)value);
                break;
            default:
                throw Error($"invalid escape '\\{(char)e}'");
        }
    }

    private void ReadUnicodeEscape(List<byte> bytes)
    {
        if (!Accept((byte)'{')) throw Error("'{' expected in \\u escape");
        long cp = 0;
        int digits = 0;
        while (_pos < _end && char.IsAsciiHexDigit((char)_text[_pos]))
        {
            cp = cp * 16 + Convert.ToInt32(((char)_text[_pos++]).ToString(), 16);
            if (++digits > 8 || cp > 0x7FFFFFFF) throw Error("\\u escape too large");
        }
        if (digits == 0 || !Accept((byte)'}')) throw Error("malformed \\u escape");
        // Lua encodes up to 2^31 in the original (6-byte) UTF-8 scheme; beyond U+10FFFF is not text we can hold.
        if (cp > 0x10FFFF) throw Error("\\u escape beyond U+10FFFF");
        Span<byte> buffer = stackalloc byte[4];
        int n = new Rune(cp is >= 0xD800 and <= 0xDFFF ? 0xFFFD : (int)cp).EncodeToUtf8(buffer);
        for (int i = 0; i < n; i++) bytes.Add(buffer[i]);
    }

    private string ReadLongString()
    {
        int level = LongBracketLevel();
        if (level < 0) throw Error("malformed long string");
        // A line break right after the opening bracket is not part of the string.
        if (_pos < _end && _text[_pos] == '\r') _pos++;
        if (_pos < _end && _text[_pos] == '\n')
        {
            _pos++;
            _line++;
        }
        int start = _pos;
        while (_pos < _end)
        {
            if (_text[_pos] == ']' && ClosesLongBracket(level))
            {
                var s = Utf8.GetString(_text, start, _pos - start);
                _pos += level + 2;
                return s;
            }
            if (_text[_pos] == '\n') _line++;
            _pos++;
        }
        throw Error("unfinished long string");
    }

    /// <summary>At '[': consumes "[==[" and returns the number of '='; -1 when it is not a long bracket.</summary>
    private int LongBracketLevel()
    {
        int p = _pos + 1, level = 0;
        while (p < _end && _text[p] == '=')
        {
            p++;
            level++;
        }
        if (p >= _end || _text[p] != '[') return -1;
        _pos = p + 1;
        return level;
    }

    private bool ClosesLongBracket(int level)
    {
        int p = _pos + 1;
        for (int i = 0; i < level; i++, p++)
        {
            if (p >= _end || _text[p] != '=') return false;
        }
        return p < _end && _text[p] == ']';
    }

    private string ReadName()
    {
        int start = _pos;
        while (_pos < _end && (IsNameStart(_text[_pos]) || char.IsAsciiDigit((char)_text[_pos]))) _pos++;
        return Encoding.ASCII.GetString(_text, start, _pos - start);
    }

    private void ExpectWord(string word)
    {
        SkipSpace();
        if (!IsNameStart(Peek())) throw Error($"'{word}' expected");
        int save = _pos;
        var name = ReadName();
        if (name != word)
        {
            if (_pos >= _end && word.StartsWith(name, StringComparison.Ordinal)) throw Error($"'{word}' cut short");
            _pos = save;
            throw Error($"'{word}' expected, found '{name}' (only data is accepted)");
        }
    }

    private void ExpectSymbol(char symbol)
    {
        SkipSpace();
        if (!Accept((byte)symbol)) throw Error($"'{symbol}' expected");
    }

    private bool Accept(byte c)
    {
        if (_pos < _end && _text[_pos] == c)
        {
            _pos++;
            return true;
        }
        return false;
    }

    private int Peek() => _pos < _end ? _text[_pos] : -1;

    /// <summary>Skips white space and comments (Prosody writes none; an operator's editor may).</summary>
    private void SkipSpace()
    {
        while (_pos < _end)
        {
            byte c = _text[_pos];
            if (c == '\n')
            {
                _line++;
                _pos++;
            }
            else if (IsSpace(c)) _pos++;
            else if (c == '-' && _pos + 1 < _end && _text[_pos + 1] == '-') SkipComment();
            else return;
        }
    }

    private void SkipComment()
    {
        _pos += 2;
        if (_pos < _end && _text[_pos] == '[')
        {
            int level = LongBracketLevel();
            if (level >= 0)
            {
                while (_pos < _end && !(_text[_pos] == ']' && ClosesLongBracket(level)))
                {
                    if (_text[_pos] == '\n') _line++;
                    _pos++;
                }
                if (_pos >= _end) throw Error("unfinished long comment");
                _pos += level + 2;
                return;
            }
        }
        while (_pos < _end && _text[_pos] != '\n') _pos++;
    }

    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\f' or (byte)'\v';

    private static bool IsNameStart(int c) => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or '_';

    private FormatException Error(string message) => _pos >= _end
        ? new TruncatedDataException($"line {_line}: {message} (the data ends here)")
        : new FormatException($"line {_line}: {message}");
}

/// <summary>The data stopped in the middle of a value: a write that was cut short, not code.</summary>
internal sealed class TruncatedDataException(string message) : FormatException(message);
