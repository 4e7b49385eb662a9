using Spectre.Console;

namespace RuleMail.Cli.Output;

/// <summary>Spectre.Console rendering onto a command's writer: plain text, wide enough not to wrap when redirected.</summary>
internal static class Tables
{
    public static IAnsiConsole ConsoleFor(TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        if (Console.IsOutputRedirected || !ReferenceEquals(writer, Console.Out))
        {
            console.Profile.Width = 240;
        }

        return console;
    }

    public static Table Create(params string[] headers)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var header in headers)
        {
            table.AddColumn(new TableColumn(Markup.Escape(header)).NoWrap());
        }

        return table;
    }

    public static void AddRow(Table table, params string?[] cells) =>
        table.AddRow([.. cells.Select(c => (Spectre.Console.Rendering.IRenderable)new Text(c ?? string.Empty))]);
}
