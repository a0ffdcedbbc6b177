using System.Globalization;
using System.Text;
using LuaXmpp.Xml;

namespace LuaXmpp.Storage;

/// <summary>
/// JSON as Prosody's util.json writes and reads it, so that "json" values in a shared database
/// mean the same to both servers. A Lua table's sequence part (keys 1..n) is a JSON array; if the
/// table also has other keys, the sequence goes under "__array" and keys that are neither strings
/// nor in the sequence (false, 7, ...) go as a flat [k1, v1, k2, v2, ...] list under "__hash".
/// </summary>
internal static class ProsodyJson
{
    private const string ArrayKey = "__array";
    private const string HashKey = "__hash";

    public static string Encode(object? value)
    {
        var sb = new StringBuilder();
        WriteValue(sb, value);
        return sb.ToString();
    }

    /// <summary>Decodes a JSON text; objects and arrays become <see cref="DataTable"/>s, JSON null becomes null.</summary>
    /// <exception cref="FormatException">The text is not JSON.</exception>
    public static object? Decode(string json)
    {
        var reader = new Reader(json);
        var value = reader.ReadValue();
        reader.SkipWhitespace();
        if (!reader.AtEnd) throw new FormatException("garbage after JSON value");
        return value;
    }

    private static void WriteValue(StringBuilder sb, object? value)
    {
        switch (value)
        {
            case null: sb.Append("null"); break;
            case string s: WriteString(sb, s); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long or int or double or float: sb.Append(LuaNumber.Format(value)); break;
            case DataTable t: WriteTable(sb, t); break;
            case XmlElement e: WriteTable(sb, StanzaAsTable(e, null)); break;
            // util.json writes values it cannot represent (functions, userdata) as null.
            default: sb.Append("null"); break;
        }
    }

    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                // Other control characters as \u00XX with upper-case hex, like util.json; the rest raw.
                case < ' ': sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture)); break;
                default: sb.Append(c); break;
            }
        }
        sb.Append('"');
    }

    private static void WriteTable(StringBuilder sb, DataTable t)
    {
        var sequence = new List<object?>();
        while (t.TryGetValue((long)(sequence.Count + 1), out var item)) sequence.Add(item);

        var hash = new List<KeyValuePair<string, object?>>();
        var other = new List<KeyValuePair<object, object?>>();
        foreach (var (k, v) in t)
        {
            if (k is string s && s is not ArrayKey and not HashKey) hash.Add(new(s, v));
            else if (!(k is long l && l >= 1 && l <= sequence.Count)) other.Add(new(k, v));
        }

        if (other.Count == 0 && hash.Count == 0 && sequence.Count > 0)
        {
            WriteArray(sb, sequence);
            return;
        }
        sb.Append('{');
        bool first = true;
        foreach (var (k, v) in hash)
        {
            if (!first) sb.Append(',');
            first = false;
            WriteString(sb, k);
            sb.Append(':');
            WriteValue(sb, v);
        }
        if (other.Count > 0)
        {
            if (!first) sb.Append(',');
            first = false;
            sb.Append("\"" + HashKey + "\":[");
            for (int i = 0; i < other.Count; i++)
            {
                if (i > 0) sb.Append(',');
                WriteValue(sb, other[i].Key);
                sb.Append(',');
                WriteValue(sb, other[i].Value);
            }
            sb.Append(']');
        }
        if (sequence.Count > 0)
        {
            if (!first) sb.Append(',');
            sb.Append("\"" + ArrayKey + "\":");
            WriteArray(sb, sequence);
        }
        sb.Append('}');
    }

    private static void WriteArray(StringBuilder sb, List<object?> items)
    {
        sb.Append('[');
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0) sb.Append(',');
            WriteValue(sb, items[i]);
        }
        sb.Append(']');
    }

    /// <summary>
    /// A stanza nested inside a table is, to util.json, just the Lua table util.stanza builds:
    /// name, attr, tags and the children as the sequence. Written the same way for compatibility.
    /// </summary>
    private static DataTable StanzaAsTable(XmlElement e, string? parentNs)
    {
        var attr = new DataTable();
        if (e.Namespace != parentNs && !(parentNs is null && e.Namespace == StoredXml.DefaultNamespace)) attr["xmlns"] = e.Namespace;
        foreach (var a in e.Attributes) attr[a.Name] = a.Value;
        var tags = new DataTable();
        var table = new DataTable { ["name"] = e.Name, ["attr"] = attr, ["tags"] = tags };
        long n = 0, tagCount = 0;
        foreach (var child in e.Children)
        {
            object? item = child switch
            {
                XmlElement c => StanzaAsTable(c, e.Namespace),
                XmlText text => text.Value,
                _ => null,
            };
            if (item is null) continue;
            table[++n] = item;
            if (item is DataTable) tags[++tagCount] = item;
        }
        return table;
    }

    private sealed class Reader(string text)
    {
        private int _pos;

        public bool AtEnd => _pos >= text.Length;

        public void SkipWhitespace()
        {
            while (_pos < text.Length && text[_pos] is ' ' or '\t' or '\r' or '\n') _pos++;
        }

        public object? ReadValue()
        {
            SkipWhitespace();
            if (AtEnd) throw new FormatException("value expected");
            char c = text[_pos];
            return c switch
            {
                '{' => ReadObject(),
                '[' => ReadArray(),
                '"' => ReadString(),
                't' => ReadLiteral("true", true),
                'f' => ReadLiteral("false", false),
                'n' => ReadLiteral("null", null),
                '-' or (>= '0' and <= '9') => ReadNumber(),
                _ => throw new FormatException($"unexpected '{c}' at {_pos}"),
            };
        }

        private object? ReadLiteral(string word, object? value)
        {
            if (string.CompareOrdinal(text, _pos, word, 0, word.Length) != 0) throw new FormatException(word + " expected");
            _pos += word.Length;
            return value;
        }

        private object ReadNumber()
        {
            int start = _pos;
            while (_pos < text.Length && (char.IsAsciiDigit(text[_pos]) || text[_pos] is '.' or '-' or '+' or 'e' or 'E')) _pos++;
            return LuaNumber.Parse(text[start.._pos]) ?? throw new FormatException("bad number");
        }

        private string ReadString()
        {
            _pos++; // opening quote
            var sb = new StringBuilder();
            while (true)
            {
                if (AtEnd) throw new FormatException("unterminated string");
                char c = text[_pos++];
                if (c == '"') return sb.ToString();
                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }
                if (AtEnd) throw new FormatException("unterminated escape");
                char esc = text[_pos++];
                switch (esc)
                {
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        if (_pos + 4 > text.Length
                            || !int.TryParse(text.AsSpan(_pos, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                        {
                            throw new FormatException("invalid escape");
                        }
                        _pos += 4;
                        sb.Append((char)code); // surrogate pairs combine naturally in UTF-16
                        break;
                    default: sb.Append(esc); break; // \" \\ \/ and (leniently) anything else
                }
            }
        }

        private DataTable ReadArray()
        {
            _pos++;
            var table = new DataTable();
            SkipWhitespace();
            if (!AtEnd && text[_pos] == ']')
            {
                _pos++;
                return table;
            }
            while (true)
            {
                table[(long)(table.Count + 1)] = ReadValue();
                SkipWhitespace();
                if (AtEnd) throw new FormatException("array eof");
                char c = text[_pos++];
                if (c == ']') return table;
                if (c != ',') throw new FormatException("array eof");
            }
        }

        private DataTable ReadObject()
        {
            _pos++;
            var table = new DataTable();
            SkipWhitespace();
            if (!AtEnd && text[_pos] == '}')
            {
                _pos++;
                return table;
            }
            while (true)
            {
                SkipWhitespace();
                if (AtEnd || text[_pos] != '"') throw new FormatException("key expected");
                string key = ReadString();
                SkipWhitespace();
                if (AtEnd || text[_pos] != ':') throw new FormatException("colon expected");
                _pos++;
                table[key] = ReadValue();
                SkipWhitespace();
                if (AtEnd) throw new FormatException("object eof");
                char c = text[_pos++];
                if (c == '}') return Unwrap(table);
                if (c != ',') throw new FormatException("object eof");
            }
        }

        /// <summary>Turns the "__array" and "__hash" members back into sequence and non-string keys.</summary>
        private static DataTable Unwrap(DataTable obj)
        {
            if (obj.Remove(ArrayKey, out var array) && array is DataTable items)
            {
                long next = 1;
                while (obj.ContainsKey(next)) next++;
                for (long i = 1; items.TryGetValue(i, out var v); i++)
                {
                    obj[next] = v;
                    while (obj.ContainsKey(next)) next++;
                }
            }
            if (obj.Remove(HashKey, out var hash) && hash is DataTable pairs)
            {
                for (long i = 1; pairs.TryGetValue(i, out var k) && pairs.ContainsKey(i + 1); i += 2)
                {
                    if (k is not null) obj[LuaNumber.NormalizeKey(k)] = pairs[i + 1];
                }
            }
            return obj;
        }
    }
}
