namespace Uring.Scripting;

/// <summary>
/// Small integer ids for rings and buffers, so that the hot entry points take only 32-bit
/// arguments: a native caller such as ctypes converts those far more cheaply than pointers and
/// 64-bit values (measured here: about 100 ns per converted argument). Ids start at 1; lookups
/// take no lock.
/// </summary>
internal static class HandleTable
{
    private static readonly object s_gate = new();
    private static object?[] s_items = new object?[64];
    private static readonly Stack<int> s_free = new();
    private static int s_next = 1;

    internal static int Add(object item)
    {
        lock (s_gate)
        {
            int id;
            if (s_free.Count > 0)
            {
                id = s_free.Pop();
            }
            else
            {
                id = s_next++;
                if (id == s_items.Length)
                {
                    var bigger = new object?[s_items.Length * 2];
                    Array.Copy(s_items, bigger, s_items.Length);
                    Volatile.Write(ref s_items, bigger);
                }
            }
            Volatile.Write(ref s_items[id], item);
            return id;
        }
    }

    internal static T Get<T>(int id) where T : class
    {
        var items = Volatile.Read(ref s_items);
        return (uint)id < (uint)items.Length && Volatile.Read(ref items[id]) is T item
            ? item
            : throw new ArgumentException($"{id} is not the id of a live {typeof(T).Name}.", nameof(id));
    }

    internal static void Remove(int id)
    {
        lock (s_gate)
        {
            if ((uint)id < (uint)s_items.Length && s_items[id] is not null)
            {
                Volatile.Write(ref s_items[id], null);
                s_free.Push(id);
            }
        }
    }
}
