#!/usr/bin/perl
# rawclient.pl — speaks resweep's frames byte by byte, for the hostile
# client tests (perl-base is on every Debian system).
#   rawclient.pl SOCK send JSON            one frame; prints the reply
#   rawclient.pl SOCK bytes HEX            raw bytes; prints replies until EOF
#   rawclient.pl SOCK pipeline N HEX       raw bytes in one write; prints N replies
#   rawclient.pl SOCK half                 half a frame, then vanish
#   rawclient.pl SOCK header N             a header announcing N bytes, then EOF; replies until EOF
#   rawclient.pl SOCK deep N               a request nested N levels deep
#   rawclient.pl SOCK noread N             N pings, never reading; "dropped" if the daemon hangs up
#   rawclient.pl SOCK conns N              N idle connections held; prints the N+1st's ping reply, then "closed K" (held ones the daemon closed)
#   rawclient.pl SOCK watchers N JOB       N connections watching JOB; prints the N+1st's first reply
#   rawclient.pl SOCK trickle HEX          one byte every 0.5 s; "dropped after K bytes" or the reply
#   rawclient.pl SOCK idle S               a ping, then silence; "closed" if the daemon hangs up within S s
use strict;
use warnings;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);

my ($path, $cmd, $arg) = @ARGV;
$SIG{PIPE} = 'IGNORE';

sub conn {
    my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path)
        or die "connect $path: $!\n";
    return $s;
}
sub frame { my ($j) = @_; return pack('N', length($j)) . $j; }
sub readn {
    my ($s, $n) = @_;
    my $buf = '';
    while (length($buf) < $n) {
        my $got = sysread($s, $buf, $n - length($buf), length($buf));
        return undef if !$got;
    }
    return $buf;
}
sub reply {
    my ($s) = @_;
    my $h = readn($s, 4);
    return undef if !defined $h;
    return readn($s, unpack('N', $h));
}
# n connections, each sent request(i) and answered once; kept open.
sub hold {
    my ($n, $request) = @_;
    my @held;
    for my $i (1 .. $n) {
        my $s = conn();
        print $s frame($request->($i));
        die "connection $i: no reply\n" if !defined reply($s);
        push @held, $s;
    }
    return @held;
}
# One more connection's ping; prints its reply (or EOF).
sub last_ping {
    my $s = conn();
    print $s frame('{"v":1,"id":"last","op":"ping"}');
    my $r = reply($s);
    print defined $r ? "$r\n" : "EOF\n";
}
sub replies_until_eof {
    my ($s) = @_;
    while (defined(my $r = reply($s))) { print "$r\n"; }
    print "EOF\n";
}

if ($cmd eq 'send') {
    my $s = conn();
    print $s frame($arg);
    my $r = reply($s);
    print defined $r ? "$r\n" : "EOF\n";
} elsif ($cmd eq 'bytes') {
    my $s = conn();
    print $s pack('H*', $arg);
    shutdown($s, 1);
    replies_until_eof($s);
} elsif ($cmd eq 'pipeline') {
    my $s = conn();
    print $s pack('H*', $ARGV[3]);
    for (1 .. $arg) {
        my $r = reply($s);
        print defined $r ? "$r\n" : "EOF\n";
        last if !defined $r;
    }
} elsif ($cmd eq 'half') {
    my $s = conn();
    print $s substr(frame('{"v":1,"id":1,"op":"ping"}'), 0, 12);
    close $s;
    print "gone\n";
} elsif ($cmd eq 'header') {
    my $s = conn();
    print $s pack('N', $arg);
    shutdown($s, 1);      # and vanish: the daemon sees EOF mid-frame
    replies_until_eof($s);
} elsif ($cmd eq 'deep') {
    my $s = conn();
    print $s frame('{"v":1,"id":1,"op":"ping","x":' . ('[' x ($arg - 1)) . (']' x ($arg - 1)) . '}');
    my $r = reply($s);
    print defined $r ? "$r\n" : "EOF\n";
} elsif ($cmd eq 'noread') {
    my $s = conn();
    $s->blocking(0);
    my $f = frame('{"v":1,"id":1,"op":"ping"}');
    my $out = $f x $arg;
    my $deadline = time + 60;
    while (length($out) && time < $deadline) {
        my $w = syswrite($s, $out);
        if (!defined $w) {
            if ($!{EAGAIN}) { select(undef, undef, undef, 0.01); next; }
            print "dropped\n"; exit 0;      # EPIPE/ECONNRESET: hung up on
        }
        substr($out, 0, $w) = '';
    }
    # All sent; the daemon's replies pile up unread: it must hang up.
    select(undef, undef, undef, 1);
    $s->blocking(1);
    my $buf;
    while (1) {
        my $got = sysread($s, $buf, 1 << 20);
        if (!defined $got) { print "dropped\n"; exit 0; }
        if ($got == 0) { print "dropped\n"; exit 0; }
    }
} elsif ($cmd eq 'conns') {
    my @held = hold($arg, sub { '{"v":1,"id":' . $_[0] . ',"op":"ping"}' });
    last_ping();
    my $closed = 0;
    for my $h (@held) {
        $h->blocking(0);
        my $buf;
        my $got = sysread($h, $buf, 1);
        $closed++ if defined $got && $got == 0;
    }
    print "closed $closed\n";
} elsif ($cmd eq 'watchers') {
    my @held = hold($arg, sub { '{"v":1,"id":' . $_[0] . ',"op":"watch","job":' . $ARGV[3] . '}' });
    last_ping();
} elsif ($cmd eq 'trickle') {
    my $s = conn();
    my $bytes = pack('H*', $arg);
    for my $k (0 .. length($bytes) - 1) {
        if (!defined syswrite($s, substr($bytes, $k, 1))) {
            print "dropped after $k bytes\n"; exit 0;
        }
        select(undef, undef, undef, 0.5);
    }
    my $r = reply($s);
    print defined $r ? "$r\n" : "dropped after all bytes\n";
} elsif ($cmd eq 'idle') {
    my $s = conn();
    print $s frame('{"v":1,"id":1,"op":"ping"}');
    die "no reply\n" if !defined reply($s);
    my $rin = '';
    vec($rin, fileno($s), 1) = 1;
    my $n = select(my $rout = $rin, undef, undef, $ARGV[2]);
    my $buf;
    print $n > 0 && sysread($s, $buf, 1) == 0 ? "closed\n" : "open\n";
} else {
    die "rawclient.pl: unknown command $cmd\n";
}
