using System.CommandLine;
using RuleMail.Host.Configuration;
using RuleMail.Rules;

namespace RuleMail.Cli.Commands;

/// <summary>
/// <c>rulemail rules lint [DIR|FILE] [--json]</c>: every problem of a rules folder, or of one rule file before it goes
/// into the folder, as <c>file:line:col: message</c> (or the API's lint document).
/// </summary>
internal static class RulesCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var folder = new Argument<string?>("DIR|FILE") { Description = "The rules folder, or one rule file (default: the config's rules)", Arity = ArgumentArity.ZeroOrOne };
        var json = new Option<bool>("--json") { Description = "One JSON object on stdout: ok, files, rules, errors (as POST /api/v1/rules/lint answers)" };
        var lint = new Command("lint", "Check rule files: unknown keys, fields, operators, wrong types, bad patterns, script errors") { folder, json };
        lint.SetAction(parse =>
        {
            var config = common.Resolve(parse, console);
            var directory = parse.GetValue(folder) is { } given ? Path.GetFullPath(given, console.WorkingDirectory) : config.Rules;
            var set = File.Exists(directory) ? RuleSet.LoadFile(directory, Limits(config)) : RuleSet.Load(directory, Limits(config));
            if (parse.GetValue(json))
            {
                console.Output.WriteLine(Json.ContractJson.Serialize(Json.RuleLintDocument.From(set), indented: true));
                return set.Errors.Count > 0 ? ExitCodes.BadInput : ExitCodes.Done;
            }

            foreach (var error in set.Errors)
            {
                console.Error.WriteLine(error.ToString());
            }

            if (set.Errors.Count > 0)
            {
                console.Error.WriteLine($"rulemail: {set.Errors.Count} problem(s) in {directory}");
                return ExitCodes.BadInput;
            }

            console.Output.WriteLine($"{directory}: {set.RuleCount} rule(s) in {set.FileCount} file(s), no problems");
            return ExitCodes.Done;
        });
        var rules = new Command("rules", "Work with rules");
        rules.Subcommands.Add(lint);
        return rules;
    }

    /// <summary>The rules of the configuration; none when the folder does not exist.</summary>
    public static RuleSet Load(RuleMailConfig config) => config.LoadRules();

    private static JavaScriptLimits Limits(RuleMailConfig config) => config.Javascript.Limits;
}
