using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace LuaXmpp.Tests.Reliability.StanzaFuzz;

/// <summary>One fuzz input: the bytes for one session (or, with <see cref="Slot"/> -1, a whole new unauthenticated stream).</summary>
/// <param name="NeedsCloser">Not exactly one well-formed element: the driver follows it with &lt;/stream:stream&gt; and waits for the end,
/// so a half-open element cannot swallow what comes next and the stream error is pinned on this input.</param>
public sealed record StanzaFuzzInput(long Index, string Label, int Slot, byte[] Bytes, bool NeedsCloser)
{
    public bool PreAuth => Slot < 0;
}

/// <summary>What an input may refer to: the live fuzz sessions' addresses.</summary>
public interface IFuzzAddressBook
{
    string Host { get; }

    int SlotCount { get; }

    string FullJid(int slot);

    string User(int slot);

    string? SmId(int slot);
}

/// <summary>
/// Turns (seed, index) into an input, reproducibly: the same pair always makes the same choices
/// (the addresses filled in are the sessions' current ones). Mix: corpus seeds as clients send them,
/// mutated ones, stanzas made up from the pools, random bytes in a session, and new unauthenticated streams.
/// </summary>
public sealed class StanzaInputFactory(int seed)
{
    private static readonly XNamespace ClientNs = "jabber:client";
    private readonly int _totalWeight = StanzaCorpus.Session.Sum(s => s.Weight);

    public Random Rng(long index) =>
        new(unchecked((int)((ulong)(seed * 1_000_003L + index) * 0x9E3779B97F4A7C15UL >> 33) ^ 0x5a17));

    public StanzaFuzzInput Make(long index, IFuzzAddressBook book)
    {
        var rng = Rng(index);
        int roll = rng.Next(1000);
        if (roll < 10) return PreAuth(index, rng, book);
        int slot = rng.Next(book.SlotCount);
        if (roll < 20) return Finish(index, slot, "random-bytes", RandomBytes(rng));
        XElement root;
        var label = new StringBuilder();
        if (roll < 75)
        {
            root = StanzaMutator.RandomTree(rng, book.Host);
            label.Append("random-tree");
        }
        else
        {
            var seedEntry = PickSeed(rng);
            root = Parse(Render(seedEntry.Template, rng, book, slot));
            label.Append(seedEntry.Name);
            int mutations = rng.Next(7) == 0 ? 0 : 1 + rng.Next(3);
            for (int i = 0; i < mutations; i++) label.Append('+').Append(StanzaMutator.Mutate(root, rng, book.Host, r => Graft(r, book, slot)));
        }
        byte[] bytes = Serialize(root);
        if (rng.Next(40) == 0)
        {
            (bytes, var damage) = StanzaMutator.Damage(bytes, rng);
            label.Append('+').Append(damage);
        }
        return Finish(index, slot, label.ToString(), bytes);
    }

    private static StanzaFuzzInput Finish(long index, int slot, string label, byte[] bytes) =>
        new(index, label, slot, bytes, !IsOneElement(bytes));

    private StanzaCorpus.Seed PickSeed(Random rng)
    {
        int pick = rng.Next(_totalWeight);
        foreach (var entry in StanzaCorpus.Session)
        {
            pick -= entry.Weight;
            if (pick < 0) return entry;
        }
        return StanzaCorpus.Session[^1];
    }

    private XElement Graft(Random rng, IFuzzAddressBook book, int slot)
    {
        var donor = Parse(Render(FuzzValues.Pick(rng, StanzaCorpus.Session).Template, rng, book, slot));
        return rng.Next(2) == 0 || !donor.HasElements ? donor : FuzzValues.Pick(rng, donor.Elements().ToList());
    }

    /// <summary>A new stream: a header (valid or not), a few pre-auth elements, maybe noise. Never SASL.</summary>
    private StanzaFuzzInput PreAuth(long index, Random rng, IFuzzAddressBook book)
    {
        int slot = rng.Next(book.SlotCount);
        var text = new StringBuilder(Render(FuzzValues.Pick(rng, StanzaCorpus.Headers), rng, book, slot));
        var label = new StringBuilder("preauth");
        for (int i = rng.Next(3); i > 0; i--)
        {
            var entry = FuzzValues.Pick(rng, StanzaCorpus.PreAuth);
            var root = Parse(Render(entry.Template, rng, book, slot));
            label.Append('+').Append(entry.Name);
            if (rng.Next(2) == 0) label.Append('+').Append(StanzaMutator.Mutate(root, rng, book.Host, r => Graft(r, book, slot)));
            text.Append(Encoding.UTF8.GetString(Serialize(root)));
        }
        byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
        if (rng.Next(5) == 0)
        {
            (bytes, var damage) = StanzaMutator.Damage(bytes, rng);
            label.Append('+').Append(damage);
        }
        return new StanzaFuzzInput(index, label.ToString(), -1, bytes, true);
    }

    private static byte[] RandomBytes(Random rng)
    {
        int length = 1 + rng.Next(200);
        if (rng.Next(2) == 0)
        {
            var raw = new byte[length];
            rng.NextBytes(raw);
            return raw;
        }
        const string alphabet = "<>/='\"&;:!?[]- \nabcxmlnsiqmessagepresence";
        var text = new char[length];
        for (int i = 0; i < length; i++) text[i] = alphabet[rng.Next(alphabet.Length)];
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>Fills the placeholders; every value is escaped, so the template still parses.</summary>
    private static string Render(string template, Random rng, IFuzzAddressBook book, int slot)
    {
        var text = new StringBuilder(template.Length + 64);
        int at = 0;
        while (at < template.Length)
        {
            int open = template.IndexOf('{', at);
            if (open < 0)
            {
                text.Append(template, at, template.Length - at);
                break;
            }
            int close = template.IndexOf('}', open);
            text.Append(template, at, open - at);
            text.Append(Escape(Placeholder(template[(open + 1)..close], rng, book, slot)));
            at = close + 1;
        }
        return text.ToString();
    }

    private static string Placeholder(string name, Random rng, IFuzzAddressBook book, int slot)
    {
        int peer = book.SlotCount < 2 ? slot : (slot + 1 + rng.Next(book.SlotCount - 1)) % book.SlotCount;
        return name switch
        {
            "host" => book.Host,
            "me" => book.FullJid(slot),
            "mybare" => Bare(book.FullJid(slot)),
            "peer" => book.FullJid(peer),
            "peerbare" => Bare(book.FullJid(peer)),
            "user" => book.User(slot),
            "contact" => rng.Next(4) == 0 ? Bare(book.FullJid(peer)) : FuzzValues.Contact(rng, book.Host),
            "id" => FuzzValues.Id(rng),
            "text" => FuzzValues.Value(rng, book.Host),
            "n" => FuzzValues.Pick(rng, FuzzValues.Numbers),
            "ts" => FuzzValues.Pick(rng, FuzzValues.Timestamps),
            "b64" => FuzzValues.Base64(rng),
            "smid" => rng.Next(3) == 0 ? FuzzValues.Id(rng) : book.SmId(rng.Next(book.SlotCount)) ?? FuzzValues.Id(rng),
            _ => throw new InvalidOperationException("unknown placeholder " + name),
        };
    }

    private static string Bare(string jid) => jid.Split('/')[0];

    private static string Escape(string value) =>
        value.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("'", "&apos;").Replace("\"", "&quot;");

    /// <summary>Parses a rendered template as the server would see it inside a jabber:client stream.</summary>
    private static XElement Parse(string text)
    {
        var names = new XmlNamespaceManager(new NameTable());
        names.AddNamespace("", ClientNs.NamespaceName);
        var context = new XmlParserContext(null, names, null, XmlSpace.None);
        using var reader = XmlReader.Create(new StringReader(text), new XmlReaderSettings { ConformanceLevel = ConformanceLevel.Fragment }, context);
        reader.MoveToContent();
        return (XElement)XNode.ReadFrom(reader);
    }

    /// <summary>UTF-8 text of the tree. Declarations parsed from the templates are dropped first: after renames
    /// and grafts they can contradict the names, and the writer derives the right ones from the names anyway.</summary>
    private static byte[] Serialize(XElement root)
    {
        foreach (var element in root.DescendantsAndSelf()) element.Attributes().Where(a => a.IsNamespaceDeclaration).Remove();
        return Encoding.UTF8.GetBytes(root.ToString(SaveOptions.DisableFormatting | SaveOptions.OmitDuplicateNamespaces));
    }

    /// <summary>Exactly one element and nothing but whitespace around it, no DTD, comment, PI or CDATA,
    /// read in the stream's context (default namespace jabber:client, prefix stream).</summary>
    public static bool IsOneElement(byte[] bytes)
    {
        var names = new XmlNamespaceManager(new NameTable());
        names.AddNamespace("", ClientNs.NamespaceName);
        names.AddNamespace("stream", "http://etherx.jabber.org/streams");
        var context = new XmlParserContext(null, names, null, XmlSpace.None);
        var settings = new XmlReaderSettings { ConformanceLevel = ConformanceLevel.Fragment, DtdProcessing = DtdProcessing.Prohibit };
        try
        {
            string text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            using var reader = XmlReader.Create(new StringReader(text), settings, context);
            int elements = 0;
            while (reader.Read())
            {
                switch (reader.NodeType)
                {
                    case XmlNodeType.Element when reader.Depth == 0:
                        if (++elements > 1) return false;
                        break;
                    case XmlNodeType.Comment or XmlNodeType.ProcessingInstruction or XmlNodeType.CDATA or XmlNodeType.DocumentType or XmlNodeType.XmlDeclaration:
                        return false;
                    case XmlNodeType.Text when reader.Depth == 0:
                        return false;
                }
            }
            return elements == 1;
        }
        catch (Exception e) when (e is XmlException or DecoderFallbackException or ArgumentException)
        {
            return false;
        }
    }
}
