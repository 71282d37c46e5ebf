# ivm's IVM commands (lssyscfg, mksyscfg, chhwres, lsmap, ...) on root's PATH, after the
# system's own so that none of theirs is shadowed. ivm's users reach them through ivm's
# restricted shell instead.
if [ "$(id -u)" -eq 0 ]; then
    PATH=$PATH:/usr/lib/ivm/bin
fi
