using System.Globalization;
using System.Text;
using LuaXmpp.Xml;

namespace LuaXmpp.Storage.Internal;

/// <summary>
/// Writes values in the layout of Prosody's util.serialization default preset, which
/// util.datamanager uses for its files: every key in brackets (<c>["name"] = </c>), one item per
/// line indented with tabs and ended by ';', the sequence part first without keys, strings in
/// double quotes with control characters, quotes, backslash and every byte from 127 up written
/// as escapes (so the files are ASCII), integers as <c>%d</c>, floats as <c>%.18g</c> (with ".0" when that looks integral), and
/// infinities and NaN as <c>(1/0)</c>, <c>(-1/0)</c>, <c>(0/0)</c>. A stanza is written in
/// util.stanza's preserialized table form, as Prosody's modules store them.
/// </summary>
internal static class LuaDataWriter
{
    /// <summary>The text of a <c>.dat</c> file.</summary>
    public static string Return(object? value)
    {
        var sb = new StringBuilder("return ");
        Write(sb, value, 1);
        return sb.Append(";\n").ToString();
    }

    /// <summary>One statement of a <c>.list</c> file.</summary>
    public static string Item(DataTable item)
    {
        var sb = new StringBuilder("item(");
        Write(sb, item, 1);
        return sb.Append(");\n").ToString();
    }

    public static string Serialize(object? value)
    {
        var sb = new StringBuilder();
        Write(sb, value, 1);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? value, int depth)
    {
        switch (value)
        {
            case null: sb.Append("nil"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case string s: WriteString(sb, s); break;
            case long or int or double or float: WriteNumber(sb, value); break;
            case DataTable t: WriteTable(sb, t, depth); break;
            case XmlElement e: WriteTable(sb, StoredStanza.ToTable(e), depth); break;
            default: throw new ArgumentException("cannot store a value of type " + value.GetType(), nameof(value));
        }
    }

    private static void WriteTable(StringBuilder sb, DataTable table, int depth)
    {
        if (depth > LuaDataReader.MaxDepth) throw new ArgumentException($"tables nested deeper than {LuaDataReader.MaxDepth}");
        sb.Append('{');
        if (table.Count == 0)
        {
            sb.Append('}');
            return;
        }
        var indent = new string('\t', depth);
        long n = 0;
        while (table.TryGetValue(n + 1, out var item) && item is not null)
        {
            n++;
            sb.Append('\n').Append(indent);
            Write(sb, item, depth + 1);
            sb.Append(';');
        }
        foreach (var (key, value) in OtherItems(table, n))
        {
            if (value is null) continue;
            sb.Append('\n').Append(indent).Append('[');
            Write(sb, key, depth + 1);
            sb.Append("] = ");
            Write(sb, value, depth + 1);
            sb.Append(';');
        }
        sb.Append('\n').Append('\t', depth - 1).Append('}');
    }

    /// <summary>Items outside the sequence 1..n, in a stable order (Prosody's is hash order; any order reads the same).</summary>
    private static IEnumerable<KeyValuePair<object, object?>> OtherItems(DataTable table, long n) =>
        table
            .Select(kv => KeyValuePair.Create(LuaNumber.NormalizeKey(kv.Key), kv.Value))
            .Where(kv => !(kv.Key is long l && l >= 1 && l <= n))
            .OrderBy(kv => kv.Key switch { bool => 0, long => 1, double => 2, _ => 3 })
            .ThenBy(kv => kv.Key as string, StringComparer.Ordinal)
            .ThenBy(kv => kv.Key is long l ? l : 0)
            .ThenBy(kv => kv.Key is double d ? d : 0)
            .ThenBy(kv => kv.Key is true);

    public static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (byte b in Encoding.UTF8.GetBytes(s))
        {
            switch (b)
            {
                case 7: sb.Append("\\a"); break;
                case 8: sb.Append("\\b"); break;
                case 9: sb.Append("\\t"); break;
                case 10: sb.Append("\\n"); break;
                case 11: sb.Append("\\v"); break;
                case 12: sb.Append("\\f"); break;
                case 13: sb.Append("\\r"); break;
                case (byte)'"': sb.Append("\\\""); break;
                case (byte)'\'': sb.Append("\\'"); break;
                case (byte)'\\': sb.Append("\\\\"); break;
                case < 32 or >= 127: sb.Append('\\').Append(b.ToString("000", CultureInfo.InvariantCulture)); break;
                default: sb.Append((char)b); break;
            }
        }
        sb.Append('"');
    }

    private static void WriteNumber(StringBuilder sb, object number)
    {
        switch (number)
        {
            // "-9223372036854775808" is minus a number too big for an integer: Lua would read a float.
            case long.MinValue: sb.Append("0x8000000000000000"); return;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); return;
            case int i: sb.Append(i.ToString(CultureInfo.InvariantCulture)); return;
        }
        double d = Convert.ToDouble(number, CultureInfo.InvariantCulture);
        if (double.IsPositiveInfinity(d)) sb.Append("(1/0)");
        else if (double.IsNegativeInfinity(d)) sb.Append("(-1/0)");
        else if (double.IsNaN(d)) sb.Append("(0/0)");
        else
        {
            // util.serialization writes 3.0 as "3", which Lua reads back as an integer; the ".0"
            // Lua's own tostring adds keeps it a float for both servers.
            var text = FormatG18(d);
            sb.Append(text);
            if (text.All(c => c == '-' || char.IsAsciiDigit(c))) sb.Append(".0");
        }
    }

    /// <summary>C's printf("%.18g"), as util.serialization formats floats.</summary>
    internal static string FormatG18(double d) => LuaNumber.FormatG(d, 18);
}
