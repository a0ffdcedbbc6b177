using LuaXmpp.Configuration;
using LuaXmpp.Hosting;
using LuaXmpp.Xml;
using LuaXmpp.Xmpp;

namespace LuaXmpp.Modules.Native;

/// <summary>
/// The XEP-0077 registration form: the legacy query fields and the equivalent data form
/// (XEP-0004) with FORM_TYPE jabber:iq:register, plus additional_registration_fields.
/// </summary>
internal sealed class RegistrationForm
{
    private static readonly Dictionary<string, (string Type, string Label)> KnownFields = new(StringComparer.Ordinal)
    {
        ["username"] = ("text-single", "Username"), ["password"] = ("text-private", "Password"),
        ["nick"] = ("text-single", "Nickname"), ["name"] = ("text-single", "Full Name"),
        ["first"] = ("text-single", "Given Name"), ["last"] = ("text-single", "Family Name"),
        ["email"] = ("text-single", "Email"), ["address"] = ("text-single", "Street"),
        ["city"] = ("text-single", "City"), ["state"] = ("text-single", "State"),
        ["zip"] = ("text-single", "Postal code"), ["phone"] = ("text-single", "Telephone number"),
        ["url"] = ("text-single", "Webpage"), ["date"] = ("text-single", "Birth date"),
    };

    private readonly List<(string Name, bool Required)> _fields = [("username", true), ("password", true)];
    private readonly string _title;
    private readonly string _instructions;

    public RegistrationForm(ModuleContext module)
    {
        _title = module.GetOptionString("registration_title", "Creating a new account")!;
        _instructions = module.GetOptionString("registration_instructions", "Choose a username and password for use with this service.")!;
        foreach (var field in ConfigValues.AsStringList(module.GetOption("additional_registration_fields")))
        {
            bool required = field.EndsWith('+');
            var name = required ? field[..^1] : field;
            if (KnownFields.ContainsKey(name)) _fields.Add((name, required));
            else module.Log.Error($"Unknown registration field '{field}'");
        }
    }

    /// <summary>The &lt;query/&gt; of a registration form request's result.</summary>
    public XmlElement Query()
    {
        var query = new XmlElement("query", Namespaces.Register);
        query.AddTextChild("instructions", _instructions);
        foreach (var (name, _) in _fields) query.AddChild(name);
        var x = query.AddChild("x", Namespaces.DataForms);
        x.SetAttribute("type", "form");
        x.AddTextChild("title", _title);
        x.AddTextChild("instructions", _instructions);
        var formType = x.AddChild("field");
        formType.SetAttribute("var", "FORM_TYPE");
        formType.SetAttribute("type", "hidden");
        formType.AddTextChild("value", Namespaces.Register);
        foreach (var (name, required) in _fields)
        {
            var field = x.AddChild("field");
            field.SetAttribute("label", KnownFields[name].Label);
            field.SetAttribute("var", name);
            field.SetAttribute("type", KnownFields[name].Type);
            if (required) field.AddChild("required");
        }
        return query;
    }

    /// <summary>The submitted values, from the data form if there is one, else the query's children; errors for missing required fields.</summary>
    public Dictionary<string, string?> Parse(XmlElement query, List<string> errors)
    {
        var data = new Dictionary<string, string?>(StringComparer.Ordinal);
        var form = query.Element("x", Namespaces.DataForms);
        foreach (var (name, required) in _fields)
        {
            var value = form is null
                ? query.ChildText(name)
                : form.Elements("field").FirstOrDefault(f => f.GetAttribute("var") == name)?.ChildText("value");
            data[name] = value;
            if (required && string.IsNullOrEmpty(value)) errors.Add(char.ToUpperInvariant(name[0]) + name[1..] + ": Required value missing");
        }
        return data;
    }
}
