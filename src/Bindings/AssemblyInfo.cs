using System.Runtime.CompilerServices;

// Generated signatures use C's one-byte bool and pass structs by pointer: no marshalling
// stubs are wanted anywhere, so every call is a plain native call.
[assembly: DisableRuntimeMarshalling]
