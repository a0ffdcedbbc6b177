using System.Text;
using System.Xml.Linq;

namespace LuaXmpp.Tests.Reliability.StanzaFuzz;

/// <summary>
/// Structural mutations of a rendered stanza (an <see cref="XElement"/>, so the result stays
/// well-formed and reaches the handlers), and byte-level damage for the stream parser's side.
/// Each returns a short label so the tally shows what was tried.
/// </summary>
public static class StanzaMutator
{
    private static readonly XNamespace ClientNs = "jabber:client";

    /// <summary>Applies one structural mutation to <paramref name="root"/> (in place) and names it.</summary>
    public static string Mutate(XElement root, Random rng, string host, Func<Random, XElement> graftSource)
    {
        // Mostly below the root: a root in the wrong namespace or with an unknown name only earns a stream
        // error (unsupported-stanza-type) and a reconnect, so it is tried, but rarely.
        var elements = root.Descendants().ToList();
        var target = elements.Count == 0 || rng.Next(12) == 0 ? root : FuzzValues.Pick(rng, elements);
        int operation = rng.Next(14);
        if (target == root && operation is 9 or 10 && rng.Next(4) != 0) operation = 6;
        switch (operation)
        {
            case 0:
                if (target.Attributes().Where(a => !a.IsNamespaceDeclaration).ToList() is { Count: > 0 } attributes)
                {
                    FuzzValues.Pick(rng, attributes).Remove();
                    return "del-attr";
                }
                return "del-attr-none";
            case 1:
                if (target != root)
                {
                    target.Remove();
                    return "del-elem";
                }
                root.RemoveNodes();
                return "del-children";
            case 2:
                if (target != root)
                {
                    target.AddAfterSelf(new XElement(target));
                    return "dup-elem";
                }
                root.Add(root.Elements().Select(e => new XElement(e)).ToList());
                return "dup-children";
            case 3:
                target.SetAttributeValue("type", FuzzValues.Pick(rng, FuzzValues.Types));
                return "type";
            case 4:
                target.SetAttributeValue(FuzzValues.Pick(rng, new[] { "to", "from", "jid", "by", "with" }), Address(rng, host));
                return "address";
            case 5:
                target.SetAttributeValue("id", rng.Next(4) == 0 ? FuzzValues.Value(rng, host) : FuzzValues.Id(rng));
                return "id";
            case 6:
                target.SetAttributeValue(AttributeName(rng), FuzzValues.Value(rng, host));
                return "attr-value";
            case 7:
                target.RemoveNodes();
                target.Add(new XText(FuzzValues.Value(rng, host)));
                return "text";
            case 8:
                Nest(target, rng);
                return "nest";
            case 9:
                target.Name = XName.Get(target.Name.LocalName, FuzzValues.Pick(rng, FuzzValues.Namespaces));
                return "namespace";
            case 10:
                target.Name = target.Name.Namespace + FuzzValues.Pick(rng, FuzzValues.ElementNames);
                return "rename";
            case 11:
                target.Add(new XElement(target.Name.Namespace + FuzzValues.Pick(rng, FuzzValues.ElementNames),
                    new XAttribute(AttributeName(rng), FuzzValues.Value(rng, host)), FuzzValues.Value(rng, host)));
                return "add-child";
            case 12:
                root.Name = ClientNs + FuzzValues.Pick(rng, new[] { "message", "iq", "presence" });
                return "swap-kind";
            default:
                target.Add(graftSource(rng));
                return "graft";
        }
    }

    /// <summary>Wraps a child in a chain of elements: mostly under the server's depth limit, sometimes over it.</summary>
    private static void Nest(XElement target, Random rng)
    {
        int depth = rng.Next(40) == 0 ? 30 + rng.Next(10) : 1 + rng.Next(20);
        var innermost = new XElement(target.Name.Namespace + "n");
        var outer = innermost;
        for (int i = 1; i < depth; i++) outer = new XElement(target.Name.Namespace + "n", outer);
        innermost.Add(target.Nodes().ToList());
        target.RemoveNodes();
        target.Add(outer);
    }

    private static XName AttributeName(Random rng)
    {
        string name = FuzzValues.Pick(rng, FuzzValues.AttributeNames);
        return name == "xml:lang" ? XNamespace.Xml + "lang" : name;
    }

    /// <summary>Another fuzz session, a pool contact (many malformed), or garbage.</summary>
    private static string Address(Random rng, string host) => rng.Next(6) == 0 ? FuzzValues.Value(rng, host) : FuzzValues.Contact(rng, host);

    /// <summary>Byte damage: flips, random insertions, truncation, a repeated span, a stray markup character.</summary>
    public static (byte[] Bytes, string Label) Damage(byte[] input, Random rng)
    {
        var bytes = new List<byte>(input);
        string label;
        switch (rng.Next(6))
        {
            case 0:
                for (int i = 0, n = 1 + rng.Next(4); i < n && bytes.Count > 0; i++) bytes[rng.Next(bytes.Count)] ^= (byte)(1 << rng.Next(8));
                label = "bitflip";
                break;
            case 1:
                var noise = new byte[1 + rng.Next(8)];
                rng.NextBytes(noise);
                bytes.InsertRange(rng.Next(bytes.Count + 1), noise);
                label = "insert-bytes";
                break;
            case 2:
                int cut = rng.Next(bytes.Count);
                bytes.RemoveRange(cut, bytes.Count - cut);
                label = "truncate";
                break;
            case 3:
                int start = rng.Next(bytes.Count), length = rng.Next(Math.Min(64, bytes.Count - start) + 1);
                bytes.InsertRange(rng.Next(bytes.Count + 1), bytes.GetRange(start, length));
                label = "repeat-span";
                break;
            case 4:
                bytes.InsertRange(rng.Next(bytes.Count + 1), Encoding.UTF8.GetBytes(FuzzValues.Pick(rng,
                    new[] { "<", ">", "&", "&#0;", "&lt", "'", "\"", "</a>", "<!--", "<![CDATA[", "<?pi?>", "\u0001", "</stream:stream>", "<x:y/>" })));
                label = "markup";
                break;
            default:
                bytes.InsertRange(rng.Next(bytes.Count + 1), new byte[] { FuzzValues.Pick(rng, new byte[] { 0xC0, 0xFF, 0xED, 0xF4, 0x80, 0x00 }) });
                label = "bad-utf8";
                break;
        }
        return (bytes.ToArray(), label);
    }

    /// <summary>A stanza made up from the pools, for inputs that owe nothing to the corpus.</summary>
    public static XElement RandomTree(Random rng, string host, int depth = 0)
    {
        XNamespace ns = depth == 0 && rng.Next(12) != 0 ? ClientNs : FuzzValues.Pick(rng, FuzzValues.Namespaces);
        string name = depth == 0 && rng.Next(12) != 0 ? FuzzValues.Pick(rng, new[] { "message", "iq", "presence" }) : FuzzValues.Pick(rng, FuzzValues.ElementNames);
        var element = new XElement(ns + name);
        for (int i = rng.Next(4); i > 0; i--) element.SetAttributeValue(AttributeName(rng), FuzzValues.Value(rng, host));
        if (rng.Next(3) == 0) element.Add(new XText(FuzzValues.Value(rng, host)));
        if (depth < 6)
        {
            for (int i = rng.Next(depth == 0 ? 4 : 3); i > 0; i--) element.Add(RandomTree(rng, host, depth + 1));
        }
        return element;
    }
}
