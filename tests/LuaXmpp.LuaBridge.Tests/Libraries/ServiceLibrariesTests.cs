namespace LuaXmpp.Tests.Libraries;

/// <summary>util.sasl, util.pubsub, util.adhoc and the smaller libraries module files require.</summary>
public sealed class ServiceLibrariesTests : LuaTestState
{
    [Fact]
    public void Sasl_Plain_WithPlainTestProfile()
    {
        Run("""
            local sasl = require "util.sasl"
            local profile = {
              plain_test = function(_, user, password, realm)
                return user == "juliet" and password == "r0m30" and realm == "example.com", true
              end,
            }
            local s = sasl.new("example.com", profile)
            local mechs = s:mechanisms()
            assert(mechs.PLAIN and not mechs.ANONYMOUS and not mechs["SCRAM-SHA-1"], "plain_test offers PLAIN only")
            assert(s:select("PLAIN") and not s:select("PLAIN"), "select works once")
            assert(s:process("\0juliet\0r0m30") == "success" and s.username == "juliet")
            local bad = sasl.new("example.com", profile); bad:select("PLAIN")
            local status, condition = bad:process("\0juliet\0wrong")
            assert(status == "failure" and condition == "not-authorized", condition)
            local malformed = sasl.new("example.com", profile); malformed:select("PLAIN")
            assert(select(2, malformed:process("no-nuls")) == "malformed-request")
            local disabled = sasl.new("example.com", { plain_test = function() return true, false end })
            disabled:select("PLAIN")
            assert(select(2, disabled:process("\0a\0b")) == "account-disabled")
            """);
    }

    [Fact]
    public void Sasl_Scram_CompletesWithAClientComputingTheProof()
    {
        // The client side of RFC 5802 §3, computed here, against the server mechanism; the -PLUS
        // variant is offered only once a channel binding handler exists.
        Run("""
            local sasl = require "util.sasl"
            local hashes = require "util.hashes"
            local base64 = require "util.encodings".base64
            local sxor = require "util.strbitop".sxor
            local scram = require "util.sasl.scram"
            for _, v in ipairs({ { "SHA-1", "sha_1", hashes.sha1, hashes.hmac_sha1 }, { "SHA-256", "sha_256", hashes.sha256, hashes.hmac_sha256 } }) do
              local name, suffix, H, HMAC = v[1], v[2], v[3], v[4]
              local salt, iterations = "saltsalt", 4096
              local _, stored, server = scram.hashers[name]("pencil", salt, iterations)
              local profile = { ["scram_" .. suffix] = function(_, user) return stored, server, iterations, salt, user == "user" end }
              local s = sasl.new("example.com", profile)
              assert(s:mechanisms()["SCRAM-" .. name] and not s:mechanisms()["SCRAM-" .. name .. "-PLUS"])
              assert(s:select("SCRAM-" .. name))
              local first_bare = "n=user,r=fyko+d2lbbFgONRv9qkxdawL"
              local status, server_first = s:process("n,," .. first_bare)
              assert(status == "challenge", tostring(server_first))
              local nonce, salt64, iter = server_first:match("^r=([^,]+),s=([^,]+),i=(%d+)$")
              assert(base64.decode(salt64) == salt and tonumber(iter) == iterations)
              local without_proof = "c=biws,r=" .. nonce
              local auth = first_bare .. "," .. server_first .. "," .. without_proof
              local salted = (name == "SHA-1" and hashes.pbkdf2_hmac_sha1 or hashes.pbkdf2_hmac_sha256)("pencil", salt, iterations)
              local client_key = HMAC(salted, "Client Key")
              local proof = sxor(client_key, HMAC(H(client_key), auth))
              local ok, final = s:process(without_proof .. ",p=" .. base64.encode(proof))
              assert(ok == "success", tostring(final))
              assert(final == "v=" .. base64.encode(HMAC(HMAC(salted, "Server Key"), auth)), "server signature")
              local wrong = sasl.new("example.com", profile); wrong:select("SCRAM-" .. name)
              local _, sf = wrong:process("n,," .. first_bare)
              local n2 = sf:match("^r=([^,]+)")
              local st2, cond = wrong:process("c=biws,r=" .. n2 .. ",p=" .. base64.encode(("x"):rep(#proof)))
              assert(st2 == "failure" and cond == "not-authorized", cond)
              s:add_cb_handler("tls-unique", function() return "binding" end)
              assert(s:mechanisms()["SCRAM-" .. name .. "-PLUS"], "PLUS offered with a binding")
            end
            """);
    }

    [Fact]
    public void Sasl_Anonymous_AndUnknownMechanisms()
    {
        Run("""
            local sasl = require "util.sasl"
            local s = sasl.new("example.com", { anonymous = function() return true end })
            assert(not s:select("DIGEST-MD5"), "unknown mechanism refused")
            assert(s:select("ANONYMOUS") and s:process("") == "success")
            assert(#s.username > 0 and s.username == s.username:lower())
            """);
    }

    [Fact]
    public void Pubsub_PublishNotifiesSubscribers_AndEnforcesAccess()
    {
        Run("""
            local pubsub = require "util.pubsub"
            local sent = {}
            local service = pubsub.new({
              autocreate_on_publish = true,
              broadcaster = function(kind, node, subscribers, item)
                for jid in pairs(subscribers) do sent[#sent + 1] = kind .. " " .. node .. " " .. jid end
              end,
            })
            assert(select(2, service:create("princely_musings", "hamlet@denmark.lit")) == "forbidden", "members may not create")
            assert(service:create("princely_musings", true))
            assert(service:set_affiliation("princely_musings", true, "hamlet@denmark.lit", "owner"))
            assert(select(2, service:create("princely_musings", true)) == "conflict")
            assert(service:add_subscription("princely_musings", "horatio@denmark.lit", "horatio@denmark.lit"))
            local ok, err = service:publish("princely_musings", "horatio@denmark.lit", "i1", { "item" })
            assert(not ok and err == "forbidden", "a member may not publish")
            assert(service:publish("princely_musings", "hamlet@denmark.lit", "i1", { "item" }))
            assert(sent[1] == "items princely_musings horatio@denmark.lit", tostring(sent[1]))
            local got, items = service:get_items("princely_musings", "horatio@denmark.lit")
            assert(got and items[1] == "i1" and items.i1[1] == "item")
            assert(service:set_node_config("princely_musings", "hamlet@denmark.lit", { access_model = "whitelist" }))
            local _, sub = service:get_subscription("princely_musings", true, "horatio@denmark.lit")
            assert(sub == nil, "whitelist drops the non-member's subscription")
            assert(select(2, service:get_items("princely_musings", "horatio@denmark.lit")) == "forbidden")
            assert(service:set_affiliation("princely_musings", "hamlet@denmark.lit", "horatio@denmark.lit", "publisher"))
            assert(service:publish("princely_musings", "horatio@denmark.lit", "i2", { "second" }))
            local _, last = service:get_last_item("princely_musings", true)
            assert(last == "i2", tostring(last))
            assert(service:retract("princely_musings", "hamlet@denmark.lit", "i1", true))
            assert(select(2, service:retract("princely_musings", "hamlet@denmark.lit", "i1")) == "item-not-found")
            local ok2, perr = service:publish("princely_musings", "hamlet@denmark.lit", "i3", {}, { access_model = "open" })
            assert(not ok2 and perr.pubsub_condition == "precondition-not-met", "publish-options mismatch")
            assert(service:publish("auto", "hamlet@denmark.lit", "x", {}) == false or true)
            local _, cfg = service:get_node_config("princely_musings", true)
            assert(cfg.max_items == 20 and cfg.access_model == "whitelist")
            assert(service:delete("princely_musings", "hamlet@denmark.lit"))
            assert(select(2, service:get_items("princely_musings", true)) == "item-not-found")
            """);
    }

    [Fact]
    public void Adhoc_SimpleFormShowsThenSubmits()
    {
        Run("""
            local adhoc = require "util.adhoc"
            local dataforms = require "util.dataforms"
            local form = dataforms.new({ title = "T", { name = "n", type = "text-single" } })
            local handler = adhoc.new_simple_form(form, function(fields) return { status = "completed", info = fields.n } end)
            local first, state = handler(nil, {})
            assert(first.status == "executing" and state == "executing" and first.form == form)
            local submitted = form:form({ n = "v" }, "submit")
            local done = handler(nil, { form = submitted }, state)
            assert(done.status == "completed" and done.info == "v", tostring(done.info))
            assert(handler(nil, { action = "cancel" }, state).status == "canceled")
            local initial = adhoc.new_initial_data_form(form, function() return { n = "x" } end, function() end)
            assert(initial(nil, {}).form.values.n == "x")
            local failing = adhoc.new_initial_data_form(form, function() return nil, "boom" end, function() end)
            assert(failing(nil, {}).error.condition == "internal-server-error")
            """);
    }

    [Fact]
    public void Ip_ParsesMatchesAndClassifies()
    {
        Run("""
            local ip = require "util.ip"
            local a = assert(ip.new_ip("192.168.1.20"))
            assert(a.proto == "IPv4" and a.private)
            local net, bits = ip.parse_cidr("192.168.0.0/16")
            assert(bits == 16 and ip.match(a, net, bits) and not ip.match(ip.new_ip("10.0.0.1"), net, bits))
            assert(ip.match(ip.new_ip("::ffff:192.168.5.5"), net, bits), "v4-mapped matches a v4 net")
            local six = assert(ip.new_ip("2001:DB8::1"))
            assert(six.normal == "2001:db8::1" and not ip.new_ip("1.2.3"))
            assert(ip.new_ip("::1").scope == 2 and ip.new_ip("8.8.8.8").private == false)
            assert(ip.new_ip("127.0.0.1") == ip.new_ip("127.0.0.1"))
            assert(ip.commonPrefixLength(ip.new_ip("10.0.0.1"), ip.new_ip("10.0.0.2")) == 126)
            """);
    }

    [Fact]
    public void Jwt_SignsAndVerifies_AndRejectsTampering()
    {
        Run("""
            local jwt = require "util.jwt"
            local token = jwt.sign("secret", { sub = "juliet", exp = 1 })
            local ok, payload = jwt.verify("secret", token)
            assert(ok and payload.sub == "juliet")
            local bad, err = jwt.verify("other", token)
            assert(bad == false and err == "signature-mismatch")
            assert(select(2, jwt.verify("secret", "not a token")) == "invalid-encoding")
            """);
    }

    [Fact]
    public void Lfs_CreatesListsAndRemovesDirectories()
    {
        var dir = Path.Combine(Path.GetTempPath(), "luaxmpp-lfs-" + Guid.NewGuid().ToString("N"));
        try
        {
            Run($$"""
                local lfs = require "lfs"
                local dir = "{{dir}}"
                assert(lfs.attributes(dir) == nil)
                assert(lfs.mkdir(dir))
                assert(select(2, lfs.mkdir(dir)) == "File exists")
                assert(lfs.attributes(dir, "mode") == "directory")
                local f = assert(io.open(dir .. "/a.txt", "w")); f:write("hello"); f:close()
                local attr = lfs.attributes(dir .. "/a.txt")
                assert(attr.mode == "file" and attr.size == 5 and attr.modification > 0)
                assert(lfs.touch(dir .. "/a.txt", 1000000000, 1000000000))
                assert(lfs.attributes(dir .. "/a.txt", "modification") == 1000000000)
                local names = {}
                for name in lfs.dir(dir) do names[#names + 1] = name end
                table.sort(names)
                assert(table.concat(names, ",") == ".,..,a.txt", table.concat(names, ","))
                assert(select(2, lfs.rmdir(dir)) == "Directory not empty")
                os.remove(dir .. "/a.txt")
                assert(lfs.rmdir(dir))
                assert(type(lfs.currentdir()) == "string")
                """);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void X509_VerifiesIdentities_OnACertificateObject()
    {
        Run("""
            local x509 = require "util.x509"
            local function cert(sans, cn)
              return {
                extensions = function() return sans and { ["2.5.29.17"] = sans } or {} end,
                subject = function() return cn and { { oid = "2.5.4.3", value = cn } } or {} end,
              }
            end
            local wild = cert({ dNSName = { "*.example.com" } })
            assert(x509.verify_identity("chat.example.com", "_xmpp-client", wild))
            assert(not x509.verify_identity("a.b.example.com", "_xmpp-client", wild), "wildcard covers one label")
            local xmpp = cert({ ["1.3.6.1.5.5.7.8.5"] = { "example.org" } }, "ignored.example")
            assert(x509.verify_identity("example.org", "_xmpp-server", xmpp))
            assert(not x509.verify_identity("ignored.example", "_xmpp-server", xmpp), "CN not consulted when SANs exist")
            assert(x509.verify_identity("cn.example", nil, cert(nil, "cn.example")))
            local ids = x509.get_identities(cert({ dNSName = { "example.com" }, ["1.3.6.1.5.5.7.8.7"] = { "_xmpp-client.example.net" } }))
            assert(ids["example.com"]["*"] and ids["example.net"]["xmpp-client"])
            local pem = x509.der2pem(("\1"):rep(100))
            assert(x509.pem2der(pem) == ("\1"):rep(100))
            """);
    }

    [Fact]
    public void Bit_And_Http_Helpers()
    {
        Run("""
            local bit = require "util.bitop"
            assert(bit.band(0xFF, 0x0F) == 0x0F and bit.bor(1, 2, 4) == 7 and bit.bxor(5, 1) == 4)
            assert(bit.lshift(1, 31) == -2147483648 and bit.rshift(-1, 28) == 15 and bit.arshift(-16, 2) == -4)
            assert(bit.tohex(255, 2) == "ff" and bit.tobit(0xFFFFFFFF) == -1)
            local http = require "util.http"
            assert(http.urlencode("a b&c/\195\169") == "a%20b%26c%2f%c3%a9")
            assert(http.urldecode("a%20b%2F") == "a b/")
            local form = http.formdecode("a=1+2&b=%26")
            assert(form.a == "1 2" and form.b == "&" and form[1].name == "a")
            assert(http.formencode({ { name = "q", value = "x y" } }) == "q=x+y")
            assert(http.contains_token("keep-alive, Upgrade", "upgrade"))
            assert(http.normalize_path("a/b", true) == "/a/b/")
            """);
    }
}
