namespace LuaXmpp.Bench.LoadGen.Wire;

/// <summary>
/// Splits an XMPP stream (RFC 6120 §4) into its stream header, top-level elements and the
/// closing tag, by tracking tag depth only. The generator talks to servers that emit
/// well-formed XML, so it trades validation for speed: it must not be the bottleneck.
/// </summary>
public static class FrameScanner
{
    private const byte Lt = (byte)'<';
    private const byte Gt = (byte)'>';

    /// <summary>Scans <paramref name="data"/>, adding complete frames to <paramref name="frames"/>.
    /// Returns how many bytes were consumed (everything up to the end of the last complete frame).</summary>
    public static int Scan(ReadOnlySpan<byte> data, List<Frame> frames)
    {
        var consumed = 0;
        var depth = 0;
        var elementStart = -1;
        var i = 0;
        while (i < data.Length)
        {
            if (data[i] != Lt)
            {
                i++;
                continue;
            }

            var end = FindTagEnd(data, i);
            if (end < 0)
            {
                break;
            }

            var next = i + 1 < data.Length ? data[i + 1] : (byte)0;
            if (next is (byte)'?' or (byte)'!')
            {
                // XML declaration or comment between frames: nothing to report.
                i = end + 1;
                if (depth == 0) consumed = i;
                continue;
            }

            if (next == (byte)'/')
            {
                if (depth == 0)
                {
                    frames.Add(new Frame(FrameKind.StreamEnd, ""));
                    consumed = i = end + 1;
                    continue;
                }

                depth--;
                i = end + 1;
                if (depth == 0)
                {
                    frames.Add(new Frame(FrameKind.Element, Decode(data[elementStart..i])));
                    consumed = i;
                }
                continue;
            }

            var selfClosing = data[end - 1] == (byte)'/';
            if (depth == 0 && IsStreamHeader(data[(i + 1)..]))
            {
                frames.Add(new Frame(FrameKind.StreamHeader, Decode(data[i..(end + 1)])));
                consumed = i = end + 1;
                continue;
            }

            if (depth == 0) elementStart = i;
            i = end + 1;
            if (selfClosing)
            {
                if (depth == 0)
                {
                    frames.Add(new Frame(FrameKind.Element, Decode(data[elementStart..i])));
                    consumed = i;
                }
            }
            else
            {
                depth++;
            }
        }

        return consumed;
    }

    /// <summary>The index of the '&gt;' closing the tag at <paramref name="start"/>, skipping
    /// quoted attribute values (which may legally contain '&gt;'); -1 if not all here yet.</summary>
    private static int FindTagEnd(ReadOnlySpan<byte> data, int start)
    {
        byte quote = 0;
        for (var j = start + 1; j < data.Length; j++)
        {
            var b = data[j];
            if (quote != 0)
            {
                if (b == quote) quote = 0;
            }
            else if (b is (byte)'"' or (byte)'\'')
            {
                quote = b;
            }
            else if (b == Gt)
            {
                return j;
            }
        }

        return -1;
    }

    private static bool IsStreamHeader(ReadOnlySpan<byte> tag) =>
        tag.StartsWith("stream:stream"u8) || tag.StartsWith("stream "u8);

    private static string Decode(ReadOnlySpan<byte> bytes) => System.Text.Encoding.UTF8.GetString(bytes);
}
