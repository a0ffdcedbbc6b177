using System.Security.Cryptography;
using System.Text;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

/// <summary>The XEP-0115 §5.1 verification string hash (sha-1) of a disco#info result.</summary>
public static class CapsHash
{
    public static string Compute(XmlElement discoInfo)
    {
        var identities = new List<string>();
        var features = new List<string>();
        var forms = new List<string>();
        foreach (var child in discoInfo.Elements())
        {
            if (child.Name == "identity")
            {
                identities.Add($"{child.GetAttribute("category")}\0{child.GetAttribute("type")}\0{child.GetAttribute("xml:lang")}\0{child.GetAttribute("name")}");
            }
            else if (child.Name == "feature") features.Add(child.GetAttribute("var") ?? "");
            else if (child.Name == "x" && child.Namespace == Namespaces.DataForms) forms.Add(FormString(child));
        }
        var s = new StringBuilder();
        foreach (var list in new[] { identities, features, forms })
        {
            list.Sort(StringComparer.Ordinal);
            // Sorted with NUL separators, as Prosody's util.caps does, then NUL becomes '/' or '<'.
            foreach (var item in list) s.Append(item.Replace('\0', list == identities ? '/' : '<')).Append('<');
        }
        return Convert.ToBase64String(SHA1.HashData(Encoding.UTF8.GetBytes(s.ToString())));
    }

    /// <summary>FORM_TYPE first, then each field var and its sorted values, fields sorted by var.</summary>
    private static string FormString(XmlElement form)
    {
        string? formType = null;
        var fields = new List<string>();
        foreach (var field in form.Elements("field"))
        {
            if (field.GetAttribute("var") is not { } var) continue;
            var values = field.Elements("value").Where(v => !v.Elements().Any()).Select(v => v.Text).ToList();
            values.Sort(StringComparer.Ordinal);
            if (var == "FORM_TYPE") formType = values.FirstOrDefault();
            else fields.Add(values.Count > 0 ? var + "\0" + string.Join("<", values) : var);
        }
        fields.Sort(StringComparer.Ordinal);
        var joined = string.Join("<", fields);
        return formType is null ? joined : formType + "\0" + joined;
    }
}
