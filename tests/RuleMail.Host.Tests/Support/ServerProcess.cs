using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using RuleMail.Core.Tests.Support;

namespace RuleMail.Host.Tests.Support;

/// <summary>
/// A long-running server program (dovecot, the python SMTP sink) started in the foreground, so this object owns
/// it: its output is kept for failure messages, <see cref="Kill"/> ends it with every process it forked, and the
/// test process kills whatever is still running when it exits, so no server outlives the test run.
/// </summary>
internal sealed class ServerProcess : IDisposable
{
    private static readonly ConcurrentDictionary<ServerProcess, byte> Running = new();

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    static ServerProcess() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var server in Running.Keys)
        {
            server.Kill();
        }
    };

    private ServerProcess(Process process, string commandLine)
    {
        _process = process;
        CommandLine = commandLine;
    }

    public string CommandLine { get; }

    /// <summary>The process id (for signals: a test pauses a node with SIGSTOP).</summary>
    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>What the program wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <param name="installHint">Said when the program cannot be run at all, e.g. "apt-get install dovecot-imapd".</param>
    /// <param name="environment">Variables to set (a null value removes one) on top of this process's.</param>
    public static ServerProcess Start(
        string program, IReadOnlyList<string> arguments, string workingDirectory, string installHint, IReadOnlyDictionary<string, string?>? environment = null)
    {
        if (!File.Exists(program))
        {
            throw new ExternalToolException($"{program} is needed by this test but is not installed; install it ({installHint})");
        }

        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var commandLine = program + " " + string.Join(' ', arguments);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new ExternalToolException($"{commandLine}: the process did not start");
        }
        catch (Win32Exception e)
        {
            throw new ExternalToolException($"{program} is needed by this test but cannot be run ({e.Message}); install it ({installHint})", e);
        }

        var server = new ServerProcess(process, commandLine);
        Running[server] = 0;
        process.OutputDataReceived += (_, line) => server.Append(line.Data);
        process.ErrorDataReceived += (_, line) => server.Append(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        return server;
    }

    /// <summary>Kills the program and everything it forked, at once (no graceful shutdown), and waits until it is gone.</summary>
    public void Kill()
    {
        Running.TryRemove(this, out _);
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.WaitForExit(10_000);
        }
        catch (Exception e) when (e is InvalidOperationException or AggregateException or Win32Exception)
        {
            // It exited between the check and the kill, or a forked process did; callers that need the port
            // closed check it themselves.
        }
    }

    /// <summary>Waits until the program has exited by itself (a graceful stop), at most <paramref name="timeout"/>.</summary>
    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync().WaitAsync(timeout);

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
