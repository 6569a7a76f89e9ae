// a group name with a brace: it would break the hash tag.
rom::group!(pub Shop = "sh{op");

fn main() {}
