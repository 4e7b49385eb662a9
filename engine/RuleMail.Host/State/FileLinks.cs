using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace RuleMail.Host.State;

/// <summary>
/// How many names (hard links) an open file has, from <c>fstat</c>'s <c>st_nlink</c>. .NET has no API for it. Known
/// only on Linux x64 and arm64, whose <c>struct stat</c> layouts are fixed by the kernel ABI; null elsewhere, or where
/// the C library does not export <c>fstat</c> (glibc before 2.33), so the check is skipped, never guessed.
/// </summary>
internal static class FileLinks
{
    public static long? Count(SafeFileHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        // x86_64: st_dev (8), st_ino (8), st_nlink (8). arm64 (generic layout): st_dev (8), st_ino (8), st_mode (4), st_nlink (4).
        var (offset, size) = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => (16, 8),
            Architecture.Arm64 => (20, 4),
            _ => (-1, 0),
        };
        if (offset < 0)
        {
            return null;
        }

        var buffer = new byte[256];
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (FStat((int)handle.DangerousGetHandle(), buffer) != 0)
            {
                return null;
            }
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        return size == 8 ? BitConverter.ToInt64(buffer, offset) : BitConverter.ToUInt32(buffer, offset);
    }

#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code in the project for this one call.
    [DllImport("libc", EntryPoint = "fstat", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int FStat(int descriptor, [Out] byte[] buffer);
#pragma warning restore SYSLIB1054
}
