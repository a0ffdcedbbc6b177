using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace LuaXmpp.S2s;

/// <summary>
/// A minimal DNS client for SRV lookups (RFC 1035 over UDP, RFC 2782 records), since .NET has
/// none: asks each nameserver of /etc/resolv.conf in turn, each within a bounded time, so a
/// resolver that does not answer can never hold a connection attempt longer than that.
/// </summary>
public static class SrvQuery
{
    private const ushort TypeSrv = 33;

    /// <summary>The SRV targets (empty when the name has none), or null when no nameserver answered.</summary>
    public static async Task<IReadOnlyList<SrvTarget>?> LookupAsync(string name, TimeSpan timeout, CancellationToken cancel)
    {
        foreach (var server in Nameservers())
        {
            try
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                deadline.CancelAfter(timeout);
                using var udp = new UdpClient(server.AddressFamily);
                var id = (ushort)RandomNumberGenerator.GetInt32(ushort.MaxValue);
                await udp.SendAsync(Query(id, name), new IPEndPoint(server, 53), deadline.Token).ConfigureAwait(false);
                var reply = await udp.ReceiveAsync(deadline.Token).ConfigureAwait(false);
                if (Parse(reply.Buffer, id) is { } targets) return targets;
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                if (cancel.IsCancellationRequested) return null;
            }
        }
        return null;
    }

    private static IEnumerable<IPAddress> Nameservers()
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines("/etc/resolv.conf");
        }
        catch (IOException)
        {
            yield break;
        }
        catch (UnauthorizedAccessException)
        {
            yield break;
        }
        foreach (var line in lines)
        {
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && parts[0] == "nameserver" && IPAddress.TryParse(parts[1], out var address)) yield return address;
        }
    }

    private static byte[] Query(ushort id, string name)
    {
        var bytes = new List<byte>(64);
        bytes.AddRange([(byte)(id >> 8), (byte)id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD, one question
        foreach (var label in name.TrimEnd('.').Split('.'))
        {
            var data = Encoding.ASCII.GetBytes(label);
            bytes.Add((byte)data.Length);
            bytes.AddRange(data);
        }
        bytes.AddRange([0, 0, (byte)TypeSrv, 0, 1]);
        return bytes.ToArray();
    }

    private static IReadOnlyList<SrvTarget>? Parse(byte[] m, ushort id)
    {
        if (m.Length < 12 || BinaryPrimitives.ReadUInt16BigEndian(m) != id) return null;
        int rcode = m[3] & 0x0F;
        if (rcode == 3) return []; // NXDOMAIN
        if (rcode != 0) return null;
        int questions = BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(4)), answers = BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(6));
        int pos = 12;
        for (int i = 0; i < questions; i++) pos = SkipName(m, pos) + 4;
        var targets = new List<SrvTarget>();
        for (int i = 0; i < answers && pos + 10 <= m.Length; i++)
        {
            pos = SkipName(m, pos);
            var type = BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(pos));
            var length = BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(pos + 8));
            var data = pos + 10;
            if (type == TypeSrv && data + 6 < m.Length)
            {
                targets.Add(new SrvTarget(BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(data)), BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(data + 2)),
                    BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(data + 4)), ReadName(m, data + 6)));
            }
            pos = data + length;
        }
        return targets;
    }

    private static int SkipName(byte[] m, int pos)
    {
        while (pos < m.Length)
        {
            int len = m[pos];
            if (len == 0) return pos + 1;
            if ((len & 0xC0) == 0xC0) return pos + 2;
            pos += len + 1;
        }
        return pos;
    }

    private static string ReadName(byte[] m, int pos)
    {
        var labels = new List<string>();
        for (int hops = 0; pos < m.Length && hops < 32; hops++)
        {
            int len = m[pos];
            if (len == 0) break;
            if ((len & 0xC0) == 0xC0)
            {
                pos = ((len & 0x3F) << 8) | m[pos + 1];
                continue;
            }
            labels.Add(Encoding.ASCII.GetString(m, pos + 1, Math.Min(len, m.Length - pos - 1)));
            pos += len + 1;
        }
        return string.Join('.', labels);
    }
}
