using System.Globalization;
using System.Text;
using System.Text.Unicode;
using KeraLua;
using LuaXmpp.Xmpp;

namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// util.encodings: base64 (RFC 4648 §4), the JID stringprep profiles (via <see cref="JidPrep"/>),
/// IDNA (RFC 5891 ToASCII/ToUnicode), UTF-8 validation (RFC 3629) and a confusables skeleton.
/// </summary>
internal sealed class EncodingsLibrary : INativeLibrary
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);
    private static readonly IdnMapping Idn = new() { AllowUnassigned = true };

    private static readonly LuaFunction Base64EncodeFn = Base64Encode;
    private static readonly LuaFunction Base64DecodeFn = Base64Decode;
    private static readonly LuaFunction StringprepFn = Stringprep;
    private static readonly LuaFunction Utf8ValidFn = Utf8Valid;
    private static readonly LuaFunction Utf8LengthFn = Utf8Length;
    private static readonly LuaFunction IdnaFn = IdnaConvert;

    public string Name => "util.encodings";

    public IReadOnlyList<NativeFunction> Functions { get; } =
    [
        new("base64_encode", Base64EncodeFn), new("base64_decode", Base64DecodeFn),
        new("stringprep", StringprepFn), new("utf8_valid", Utf8ValidFn), new("utf8_length", Utf8LengthFn),
        new("idna", IdnaFn),
    ];

    // Prosody's C functions return nil for a non-string argument rather than raising,
    // except base64, which raises; the shim reproduces both.
    public string Shim => """
        local raw = ...
        local function need_string(v, fname)
          if type(v) ~= "string" and type(v) ~= "number" then
            error(("bad argument #1 to '%s' (string expected, got %s)"):format(fname, type(v)), 3)
          end
        end
        local function prep(profile)
          return function(s, strict)
            if type(s) ~= "string" then return nil end
            return (raw.stringprep(profile, s, not not strict))
          end
        end
        local function idna(direction)
          return function(s)
            if type(s) ~= "string" then return nil end
            return (raw.idna(direction, s))
          end
        end
        return {
          base64 = {
            encode = function(s) need_string(s, "encode"); return (raw.base64_encode(s)) end,
            decode = function(s) need_string(s, "decode"); return (raw.base64_decode(s)) end,
          },
          stringprep = {
            nameprep = prep("nameprep"), nodeprep = prep("nodeprep"),
            resourceprep = prep("resourceprep"), saslprep = prep("saslprep"),
          },
          idna = { to_ascii = idna("ascii"), to_unicode = idna("unicode") },
          utf8 = {
            valid = function(s) need_string(s, "valid"); return raw.utf8_valid(s) end,
            length = function(s) need_string(s, "length"); return raw.utf8_length(s) end,
          },
          confusable = {
            -- COMPAT: no confusables table yet; the skeleton of a string is the string itself.
            skeleton = function(s) if type(s) ~= "string" then return nil end return s end,
          },
          version = "LuaXmpp .NET encodings",
        }
        """;

    private static int Base64Encode(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        lua.PushString(Convert.ToBase64String(NativeBoundary.OptBytes(lua, 1) ?? []));
        return 1;
    });

    private static int Base64Decode(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        lua.PushBuffer(DecodeLenient(NativeBoundary.OptBytes(lua, 1) ?? []));
        return 1;
    });

    /// <summary>
    /// Decodes base64 the forgiving way Prosody's decoder does: characters outside the alphabet
    /// (whitespace, line breaks) are skipped and decoding stops at the first '='.
    /// </summary>
    internal static byte[] DecodeLenient(byte[] input)
    {
        var output = new List<byte>(input.Length * 3 / 4);
        int accumulator = 0, bits = 0;
        foreach (byte b in input)
        {
            if (b == '=') break;
            int v = SextetOf(b);
            if (v < 0) continue;
            accumulator = (accumulator << 6) | v;
            bits += 6;
            if (bits >= 8)
            {
                bits -= 8;
                output.Add((byte)(accumulator >> bits));
                accumulator &= (1 << bits) - 1;
            }
        }
        return [.. output];
    }

    private static int SextetOf(byte b) => b switch
    {
        >= (byte)'A' and <= (byte)'Z' => b - 'A',
        >= (byte)'a' and <= (byte)'z' => b - 'a' + 26,
        >= (byte)'0' and <= (byte)'9' => b - '0' + 52,
        (byte)'+' => 62,
        (byte)'/' => 63,
        _ => -1,
    };

    private static int Stringprep(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var text = DecodeUtf8(NativeBoundary.OptBytes(lua, 2));
        if (text is null) return NativeBoundary.Fail(lua, "invalid utf8");
        // COMPAT: the strict flag (reject unassigned code points) is not distinguished yet.
        string? prepped = lua.ToString(1) switch
        {
            "nameprep" => JidPrep.Nameprep(text),
            "nodeprep" => JidPrep.Nodeprep(text),
            "resourceprep" or "saslprep" => JidPrep.Resourceprep(text),
            _ => null,
        };
        if (prepped is null) return NativeBoundary.Fail(lua, "prohibited or invalid input");
        lua.PushString(prepped);
        return 1;
    });

    private static int Utf8Valid(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        lua.PushBoolean(Utf8.IsValid(NativeBoundary.OptBytes(lua, 1) ?? []));
        return 1;
    });

    private static int Utf8Length(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var bytes = NativeBoundary.OptBytes(lua, 1) ?? [];
        if (!Utf8.IsValid(bytes)) return NativeBoundary.Fail(lua, "invalid utf8");
        int count = 0;
        foreach (byte b in bytes)
        {
            if ((b & 0xC0) != 0x80) count++;
        }
        lua.PushInteger(count);
        return 1;
    });

    private static int IdnaConvert(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var text = DecodeUtf8(NativeBoundary.OptBytes(lua, 2));
        if (text is null) return NativeBoundary.Fail(lua, "invalid utf8");
        try
        {
            lua.PushString(lua.ToString(1) == "ascii" ? Idn.GetAscii(text) : Idn.GetUnicode(text));
            return 1;
        }
        catch (ArgumentException ex)
        {
            return NativeBoundary.Fail(lua, ex.Message);
        }
    });

    private static string? DecodeUtf8(byte[]? bytes)
    {
        if (bytes is null) return null;
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
