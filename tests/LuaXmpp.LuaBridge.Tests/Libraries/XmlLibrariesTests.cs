namespace LuaXmpp.Tests.Libraries;

/// <summary>util.xml, util.xmppstream and util.template over the native tokenizer.</summary>
public sealed class XmlLibrariesTests : LuaTestState
{
    private const string Stream =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' " +
        "to='example.com' version='1.0' xml:lang='de'>" +
        "<message to='a@example.com' type='chat'><body>caf\u00e9 &amp; &#x263A; &lt;ok&gt;</body>" +
        "<x xmlns='urn:x' a='1'><![CDATA[<raw>]]></x></message> " +
        "<iq type='get' id='1' xml:lang='en'><query xmlns='jabber:iq:roster'/></iq>" +
        "</stream:stream>";

    [Fact]
    public void XmlParse_BuildsTheTree_WithNamespacesAndEntities()
    {
        Run("""
            local xml = require "util.xml"
            local root = assert(xml.parse([[<a xmlns='urn:a' xmlns:p='urn:p' p:k='v' xml:lang='en'><b>x &amp; y</b><p:c/></a>]]))
            assert(root.name == "a" and root.attr.xmlns == "urn:a")
            assert(root.attr["urn:p\1k"] == "v", "prefixed attribute")
            assert(root.attr["xml:lang"] == "en")
            assert(root:get_child_text("b") == "x & y")
            assert(root:get_child("c", "urn:p"), "prefixed child resolved")
            assert(root.namespaces.p == "urn:p")
            """);
    }

    [Theory]
    [InlineData("<a><b></a>", "mismatched tag")]
    [InlineData("<a>", "no element found")]
    [InlineData("<a><!-- c --></a>", "comment not allowed")]
    [InlineData("<!DOCTYPE a><a/>", "DOCTYPE not allowed")]
    [InlineData("<a>&bogus;</a>", "not well-formed")]
    [InlineData("<p:a/>", "unbound prefix")]
    [InlineData("<a x='1' x='2'/>", "not well-formed")]
    public void XmlParse_RefusesBadDocuments_WithAMessageAndPosition(string document, string expected)
    {
        var message = Eval($$"""
            local ok, err = require "util.xml".parse({{Lua(document)}})
            assert(ok == nil)
            return err
            """);
        Assert.Contains(expected, message);
        Assert.Matches(@"\(line \d+, col \d+\)$", message);
    }

    [Fact]
    public void XmlParse_AllowsCommentsWhenAsked()
    {
        Run("""
            local root = assert(require "util.xml".parse("<a><!-- c --><b/></a>", { allow_comments = true }))
            assert(root.tags[1].name == "b")
            """);
    }

    [Fact]
    public void XmppStream_GivesTheSameStanzas_AtEverySplitPoint()
    {
        // Every byte position, including inside the multi-byte é and ☺, entities, CDATA and tags.
        Run($$"""
            local xmppstream = require "util.xmppstream"
            local data = {{Lua(Stream)}}
            local function run(chunks)
              local log = {}
              local session = { notopen = true }
              local stream = xmppstream.new(session, {
                default_ns = "jabber:client",
                streamopened = function(s, attr) s.notopen = nil; log[#log + 1] = "open " .. attr.to .. " " .. attr["xml:lang"] end,
                streamclosed = function() log[#log + 1] = "close" end,
                handlestanza = function(_, stanza) log[#log + 1] = tostring(stanza) end,
                error = function(_, e) log[#log + 1] = "error " .. e end,
              })
              for _, chunk in ipairs(chunks) do assert(stream:feed(chunk)) end
              return table.concat(log, "\n")
            end
            local whole = run({ data })
            assert(whole:find("open example.com de", 1, true), whole)
            assert(whole:find("<body>caf\195\169 &amp; \226\152\186 &lt;ok&gt;</body>", 1, true), whole)
            assert(whole:find("xml:lang='de'", 1, true), "stream language stamped: " .. whole)
            assert(whole:find("xmlns='urn:x'", 1, true) and whole:find("a='1'", 1, true) and whole:find("&lt;raw&gt;</x>", 1, true), whole)
            assert(whole:find("<query xmlns='jabber:iq:roster'/>", 1, true), whole)
            assert(select(2, whole:gsub("\n", "")) == 3 and whole:sub(-5) == "close", whole)
            for i = 1, #data - 1 do
              local split = run({ data:sub(1, i), data:sub(i + 1) })
              assert(split == whole, ("split at %d:\n%s"):format(i, split))
            end
            local bytes = {}
            for i = 1, #data do bytes[i] = data:sub(i, i) end
            assert(run(bytes) == whole, "byte by byte")
            """);
    }

    [Fact]
    public void XmppStream_ReportsRestrictedXml_AndOversizedStanzas()
    {
        Run("""
            local xmppstream = require "util.xmppstream"
            local function new(limit)
              local errors = {}
              local session = { notopen = true }
              local stream = xmppstream.new(session, {
                default_ns = "jabber:client",
                streamopened = function(s) s.notopen = nil end,
                handlestanza = function() end,
                error = function(_, e, data) errors[#errors + 1] = e .. " " .. tostring(data) end,
              }, limit)
              return stream, errors
            end
            local header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
            local s, errors = new()
            s:feed(header .. "<!-- hello -->")
            assert(errors[1] == "parse-error restricted-xml", tostring(errors[1]))
            s, errors = new(100)
            assert(s:feed(header))
            local ok, err = s:feed("<message><body>" .. ("x"):rep(200))
            assert(ok == nil and err == "stanza-too-large", tostring(err))
            s, errors = new()
            s:feed("<foo/>")
            assert(errors[1]:match("^no%-stream"), tostring(errors[1]))
            s, errors = new()
            local ok2, err2 = s:feed(header .. "<message><</message>")
            assert(ok2 == nil and err2:match("not well%-formed"), tostring(err2))
            """);
    }

    [Fact]
    public void XmppStream_ResetStartsANewStream()
    {
        Run("""
            local xmppstream = require "util.xmppstream"
            local opened = 0
            local session = { notopen = true }
            local stream
            stream = xmppstream.new(session, {
              default_ns = "jabber:client",
              streamopened = function(s) s.notopen = nil; opened = opened + 1 end,
              handlestanza = function(s, stanza)
                if stanza.name == "success" then s.notopen = true; stream:reset() end
              end,
            })
            local header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
            assert(stream:feed(header .. "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"))
            assert(stream:feed("<?xml version='1.0'?>" .. header))
            assert(opened == 2, opened)
            """);
    }

    [Fact]
    public void Template_FillsPlaceholdersInTextAndAttributes()
    {
        Run("""
            local template = require "util.template"
            local t = template([[
              <iq xmlns='jabber:client' type='result' id='{id}'>
                <query xmlns='jabber:iq:search'>
                  <instructions>{text}</instructions>
                </query>
              </iq>]])
            assert(template([[
              <iq xmlns='jabber:client' type='result' id='{id}'>
                <query xmlns='jabber:iq:search'>
                  <instructions>{text}</instructions>
                </query>
              </iq>]]) == t, "templates are cached by text")
            local s = t.apply({ id = "42", text = "Fill in" })
            assert(s.name == "iq" and s.attr.id == "42" and s.attr.type == "result", tostring(s))
            local q = assert(s:get_child("query", "jabber:iq:search"), tostring(s))
            assert(q.tags[1].name == "instructions" and q.tags[1]:get_text() == "Fill in", tostring(s))
            assert(#s == 1 and #q == 1, ("whitespace-only text dropped: %d %d %s"):format(#s, #q, tostring(s)))
            assert(t.apply({}).attr.id == "")
            """);
    }

    private static string Lua(string value)
    {
        var sb = new System.Text.StringBuilder("\"");
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(value))
        {
            if (b is >= 0x20 and < 0x7f && b != '"' && b != '\\') sb.Append((char)b);
            else sb.Append('\\').Append(b.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(3, '0'));
        }
        return sb.Append('"').ToString();
    }
}
